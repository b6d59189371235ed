import type { Attendee } from '@calsync/contracts'
import type { TenantRegistry } from '@calsync/service-kit'
import { AppError, requireInstant } from '@calsync/service-kit'
import { AppointmentNotFoundError, badRequest } from '../errors.ts'
import {
  type AppointmentSnapshot,
  endOf,
  firstSnapshot,
  type Initiator,
  isMinuteAligned,
  newAppointmentId,
  nextSnapshot,
  toIso,
} from './appointment.ts'
import type { AppointmentLocks, HeldLock } from './appointment-lock.ts'
import { type AppointmentsStore, snapshotOfDoc } from './appointments-store.ts'
import type { ChangeWriter } from './change-writer.ts'

export interface CreateInput {
  eventTypeId: number
  start: string
  attendee: Attendee
  notes?: string | undefined
}

/** How far in the past a new start may lie (clock skew between callers and us). */
const PAST_TOLERANCE_MS = 5 * 60_000
/** A request waits this long for another change of the same appointment to finish (then 503). */
const DEFAULT_LOCK_WAIT_MS = 10_000

/**
 * Local changes from the API channels (phone agent, admin UI, partners, automation). Each runs
 * under the appointment's lock, so concurrent changes of one appointment happen one after the
 * other: the second of two identical reschedules finds the appointment already moved.
 */
export function createAppointmentsService(deps: {
  store: AppointmentsStore
  locks: AppointmentLocks
  writer: ChangeWriter
  tenants: TenantRegistry
  lockWaitMs?: number
  clock?: () => Date
}) {
  const { store, locks, writer, tenants } = deps
  const clock = deps.clock ?? (() => new Date())
  const waitMs = deps.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS

  function eventTypeOf(tenantId: string, eventTypeId: number) {
    const eventType = tenants.get(tenantId)?.calcom.eventTypes.find((candidate) => candidate.id === eventTypeId)
    if (!eventType) {
      throw new AppError('unknown_event_type', `event type ${eventTypeId} is not configured for this tenant`, {
        statusCode: 400,
      })
    }
    return eventType
  }

  function parseStart(text: string, now: Date): Date {
    const start = requireInstant(text, 'start')
    if (!isMinuteAligned(start)) throw badRequest('start must be on a whole minute (seconds and milliseconds zero)')
    if (start.getTime() < now.getTime() - PAST_TOLERANCE_MS) throw badRequest('start is in the past')
    return start
  }

  /** Runs a change of an existing appointment under its lock, from its settled current state. */
  async function change(
    tenantId: string,
    id: string,
    run: (current: AppointmentSnapshot, lock: HeldLock) => Promise<AppointmentSnapshot>,
  ): Promise<AppointmentSnapshot> {
    if (!(await store.current(tenantId, id))) throw new AppointmentNotFoundError(id)
    return locks.withLock(id, { waitMs }, async (lock) => {
      await writer.recover(lock)
      const doc = await store.find(tenantId, id)
      if (!doc) throw new AppointmentNotFoundError(id)
      const current = snapshotOfDoc(doc)
      return run(
        { ...current, calcomBookingUid: (await store.syncDoc(id))?.calcomBookingUid ?? current.calcomBookingUid },
        lock,
      )
    })
  }

  return {
    /** `id` is given for a create under an Idempotency-Key, so a retry after a lost answer finds it. */
    async create(
      tenantId: string,
      input: CreateInput,
      initiatedBy: Initiator,
      options: { id?: string } = {},
    ): Promise<AppointmentSnapshot> {
      const now = clock()
      const eventType = eventTypeOf(tenantId, input.eventTypeId)
      const start = parseStart(input.start, now)
      const id = options.id ?? newAppointmentId()
      return locks.withLock(id, { waitMs }, async (lock) => {
        await writer.recover(lock)
        const existing = await store.find(tenantId, id)
        if (existing) return snapshotOfDoc(existing)
        const snapshot = firstSnapshot({
          id,
          tenantId,
          eventType,
          start,
          end: endOf(start, eventType),
          origin: initiatedBy.origin,
          attendee: input.attendee,
          notes: input.notes,
          calcomBookingUid: null,
          now,
        })
        return (await writer.write(lock, { previous: undefined, next: snapshot, initiatedBy, mode: 'exclusive' }))
          .snapshot
      })
    },

    async cancel(tenantId: string, id: string, initiatedBy: Initiator): Promise<AppointmentSnapshot> {
      return change(tenantId, id, async (current, lock) => {
        if (current.status === 'cancelled') return current
        const next = nextSnapshot(current, { status: 'cancelled' }, initiatedBy.origin, clock())
        return (await writer.write(lock, { previous: current, next, initiatedBy, mode: 'exclusive' })).snapshot
      })
    },

    async reschedule(
      tenantId: string,
      id: string,
      startText: string,
      initiatedBy: Initiator,
    ): Promise<AppointmentSnapshot> {
      const now = clock()
      const start = parseStart(startText, now)
      return change(tenantId, id, async (current, lock) => {
        if (current.status === 'cancelled') {
          throw new AppError('conflict', 'a cancelled appointment cannot be rescheduled', { statusCode: 409 })
        }
        if (toIso(start) === current.start) return current
        const end = endOf(start, eventTypeOf(tenantId, current.eventTypeId))
        const next = nextSnapshot(current, { start: toIso(start), end: toIso(end) }, initiatedBy.origin, clock())
        return (await writer.write(lock, { previous: current, next, initiatedBy, mode: 'exclusive' })).snapshot
      })
    },
  }
}

export type AppointmentsService = ReturnType<typeof createAppointmentsService>
