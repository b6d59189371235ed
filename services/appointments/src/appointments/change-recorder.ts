import { injectTraceContext } from '@calsync/contracts'
import { DuplicateKeyError, insertUnique, isDuplicateKeyError, withSpan } from '@calsync/service-kit'
import { SpanKind, trace } from '@opentelemetry/api'
import type { Collection, Filter, WithoutId } from 'mongodb'
import { ConcurrentChangeError } from '../errors.ts'
import { type AppointmentSnapshot, changeTypeOf, eventIdOf, type Initiator, initialSyncState } from './appointment.ts'
import type { AppointmentDoc, AppointmentsStore, EventDoc, SyncStateDoc } from './appointments-store.ts'

const tracer = trace.getTracer('appointments')

export interface RecordChangeInput {
  previous: AppointmentSnapshot | undefined
  next: AppointmentSnapshot
  initiatedBy: Initiator
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

  /**
   * Replaces a document with a newer version of it. Two projectors of the same event (the writer
   * and the relay) may race to create it: the loser of that insert finds it there and stops.
   */
  async function replaceIfOlder<T extends { version: number }>(
    collection: Collection<T & { _id: string }>,
    id: string,
    version: number,
    next: (current: T | null) => Omit<T, '_id'>,
  ): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const current = await collection.findOne({ _id: id } as Filter<T & { _id: string }>)
      if (current && current.version >= version) return
      try {
        await collection.replaceOne(
          { _id: id } as Filter<T & { _id: string }>,
          next(current as T | null) as WithoutId<T & { _id: string }>,
          {
            upsert: true,
          },
        )
        return
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error
      }
    }
  }

  /** Idempotent: writes only what is older than the event (the sync state first, so a visible
   * appointment always has one). */
  async function project(event: EventDoc): Promise<void> {
    await replaceIfOlder<SyncStateDoc>(store.syncStates, event.appointmentId, event.version, (state) => {
      const initial = initialSyncState(event.snapshot, event._id, new Date(event.occurredAt))
      // A newer version keeps the booking uid known so far until Cal.com confirms a new one.
      const calcomBookingUid = event.snapshot.calcomBookingUid ?? state?.calcomBookingUid ?? null
      return { ...initial, calcomBookingUid, tenantId: event.tenantId, updatedAt: clock().toISOString() }
    })
    await replaceIfOlder<AppointmentDoc>(store.appointments, event.appointmentId, event.version, () => ({
      ...event.snapshot,
      initiatedBy: event.initiatedBy,
      lastEventId: event._id,
    }))
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
      await project(event)
      return event
    },
  }
}

export type ChangeRecorder = ReturnType<typeof createChangeRecorder>
