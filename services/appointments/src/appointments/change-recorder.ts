import { injectTraceContext } from '@calsync/contracts'
import { DuplicateKeyError, insertUnique, withSpan } from '@calsync/service-kit'
import { SpanKind, trace } from '@opentelemetry/api'
import { ConcurrentChangeError } from '../errors.ts'
import {
  type AppointmentSnapshot,
  changeTypeOf,
  eventIdOf,
  type Initiator,
  initialSyncState,
  type SyncState,
} from './appointment.ts'
import type { AppointmentsStore, EventDoc } from './appointments-store.ts'

const tracer = trace.getTracer('appointments')

export interface RecordChangeInput {
  previous: AppointmentSnapshot | undefined
  next: AppointmentSnapshot
  initiatedBy: Initiator
  /** Overrides the sync state the new version starts with (e.g. a conflict). */
  syncState?: Partial<SyncState>
}

function traceCarrier(): Record<string, string> {
  const carrier: Record<string, string> = {}
  injectTraceContext({
    get: (key) => carrier[key] ?? '',
    set: (key, value) => {
      carrier[key] = value
    },
    keys: () => Object.keys(carrier),
  })
  return carrier
}

/**
 * Writes a change the one way that is atomic without transactions (DESIGN §5): insert the event
 * `(appointment, version)` — a duplicate means someone else changed it first — then project it
 * onto the appointment and its sync state. The relay publishes the event; if this process dies
 * after the insert, the relay finishes the projection and the publish.
 */
export function createChangeRecorder(options: {
  store: AppointmentsStore
  /** Called after each durable event write, e.g. to wake the relay. */
  onRecorded: (event: EventDoc) => void
  clock?: () => Date
}) {
  const { store } = options
  const clock = options.clock ?? (() => new Date())

  async function project(event: EventDoc, syncOverride: Partial<SyncState> = {}): Promise<void> {
    const current = await store.appointments.findOne({ _id: event.appointmentId })
    if (!current || current.version < event.version) {
      await store.appointments.replaceOne(
        { _id: event.appointmentId },
        { ...event.snapshot, initiatedBy: event.initiatedBy, lastEventId: event._id },
        { upsert: true },
      )
    }
    const state = await store.syncStates.findOne({ _id: event.appointmentId })
    if (!state || state.version < event.version) {
      const now = clock()
      const initial = initialSyncState(event.snapshot, event._id, new Date(event.occurredAt))
      // A newer version keeps the booking uid known so far until Cal.com confirms a new one.
      const calcomBookingUid = event.snapshot.calcomBookingUid ?? state?.calcomBookingUid ?? null
      await store.syncStates.replaceOne(
        { _id: event.appointmentId },
        {
          ...initial,
          calcomBookingUid,
          ...syncOverride,
          tenantId: event.tenantId,
          updatedAt: now.toISOString(),
        },
        { upsert: true },
      )
    }
  }

  return {
    project,

    async record(input: RecordChangeInput): Promise<EventDoc> {
      const { next } = input
      const event: EventDoc = {
        _id: eventIdOf(next.id, next.version),
        type: changeTypeOf(input.previous, next),
        tenantId: next.tenantId,
        appointmentId: next.id,
        version: next.version,
        origin: next.origin,
        occurredAt: next.updatedAt,
        snapshot: next,
        initiatedBy: input.initiatedBy,
        published: false,
        publishedAt: null,
        trace: traceCarrier(),
      }
      await withSpan(
        tracer,
        'mongodb insert appointment_events',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'mongodb',
            'db.collection.name': 'appointment_events',
            'db.operation.name': 'insert',
          },
        },
        async () => {
          try {
            await insertUnique(store.events, event)
          } catch (error) {
            if (error instanceof DuplicateKeyError) throw new ConcurrentChangeError(next.id, next.version)
            throw error
          }
        },
      )
      options.onRecorded(event)
      await project(event, input.syncState)
      return event
    },
  }
}

export type ChangeRecorder = ReturnType<typeof createChangeRecorder>
