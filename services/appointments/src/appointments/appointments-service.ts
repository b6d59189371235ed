import type { Attendee } from '@calsync/contracts'
import type { TenantRegistry } from '@calsync/service-kit'
import { AppError } from '@calsync/service-kit'
import { AppointmentNotFoundError, badRequest, ConcurrentChangeError, SlotUnavailableError } from '../errors.ts'
import {
  type AppointmentSnapshot,
  endOf,
  firstSnapshot,
  type Initiator,
  isMinuteAligned,
  minutesOf,
  newAppointmentId,
  nextSnapshot,
  toIso,
} from './appointment.ts'
import { type AppointmentDoc, type AppointmentsStore, snapshotOfDoc } from './appointments-store.ts'
import type { ChangeRecorder } from './change-recorder.ts'
import type { SlotClaims } from './slot-claims.ts'

export interface CreateInput {
  eventTypeId: number
  start: string
  attendee: Attendee
  notes?: string | undefined
}

/** How far in the past a new start may lie (clock skew between callers and us). */
const PAST_TOLERANCE_MS = 5 * 60_000
const CHANGE_RETRIES = 3

/** Local changes from the API channels (phone agent, admin UI, partners, automation). */
export function createAppointmentsService(deps: {
  store: AppointmentsStore
  claims: SlotClaims
  recorder: ChangeRecorder
  tenants: TenantRegistry
  clock?: () => Date
}) {
  const { store, claims, recorder, tenants } = deps
  const clock = deps.clock ?? (() => new Date())

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
    const start = new Date(text)
    if (Number.isNaN(start.getTime())) throw badRequest('start is not a valid ISO-8601 time')
    if (!isMinuteAligned(start)) throw badRequest('start must be on a whole minute (seconds and milliseconds zero)')
    if (start.getTime() < now.getTime() - PAST_TOLERANCE_MS) throw badRequest('start is in the past')
    return start
  }

  async function load(tenantId: string, id: string): Promise<AppointmentDoc> {
    const doc = await store.find(tenantId, id)
    if (!doc) throw new AppointmentNotFoundError(id)
    return doc
  }

  /** Retries a change when another writer took the next version in between. */
  async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn()
      } catch (error) {
        if (!(error instanceof ConcurrentChangeError) || attempt >= CHANGE_RETRIES) throw error
      }
    }
  }

  return {
    async create(tenantId: string, input: CreateInput, initiatedBy: Initiator): Promise<AppointmentSnapshot> {
      const now = clock()
      const eventType = eventTypeOf(tenantId, input.eventTypeId)
      const start = parseStart(input.start, now)
      const end = endOf(start, eventType)
      const id = newAppointmentId()
      const minutes = minutesOf(toIso(start), toIso(end))
      const claim = await claims.claim(tenantId, eventType.resource, minutes, id, now)
      if (!claim.ok) throw new SlotUnavailableError(claim.holders)
      const snapshot = firstSnapshot({
        id,
        tenantId,
        eventType,
        start,
        end,
        origin: initiatedBy.origin,
        attendee: input.attendee,
        notes: input.notes,
        calcomBookingUid: null,
        now,
      })
      try {
        await recorder.record({ previous: undefined, next: snapshot, initiatedBy })
      } catch (error) {
        await claims.releaseAll(id)
        throw error
      }
      return snapshot
    },

    async cancel(tenantId: string, id: string, initiatedBy: Initiator): Promise<AppointmentSnapshot> {
      return withRetry(async () => {
        const current = snapshotOfDoc(await load(tenantId, id))
        if (current.status === 'cancelled') return current
        const next = nextSnapshot(current, { status: 'cancelled' }, initiatedBy.origin, clock())
        await recorder.record({ previous: current, next, initiatedBy })
        await claims.releaseAll(id)
        return next
      })
    },

    async reschedule(
      tenantId: string,
      id: string,
      startText: string,
      initiatedBy: Initiator,
    ): Promise<AppointmentSnapshot> {
      return withRetry(async () => {
        const now = clock()
        const current = snapshotOfDoc(await load(tenantId, id))
        if (current.status === 'cancelled') {
          throw new AppError('conflict', 'a cancelled appointment cannot be rescheduled', { statusCode: 409 })
        }
        const eventType = eventTypeOf(tenantId, current.eventTypeId)
        const start = parseStart(startText, now)
        if (toIso(start) === current.start) return current
        const end = endOf(start, eventType)
        const oldMinutes = minutesOf(current.start, current.end)
        const newMinutes = minutesOf(toIso(start), toIso(end))
        const owned = new Set(oldMinutes)
        const added = newMinutes.filter((minute) => !owned.has(minute))
        const claim = await claims.claim(tenantId, current.resource, added, id, now)
        if (!claim.ok) throw new SlotUnavailableError(claim.holders)
        const next = nextSnapshot(current, { start: toIso(start), end: toIso(end) }, initiatedBy.origin, now)
        try {
          await recorder.record({ previous: current, next, initiatedBy })
        } catch (error) {
          await claims.release(tenantId, current.resource, added, id)
          throw error
        }
        const kept = new Set(newMinutes)
        await claims.release(
          tenantId,
          current.resource,
          oldMinutes.filter((minute) => !kept.has(minute)),
          id,
        )
        return next
      })
    },
  }
}

export type AppointmentsService = ReturnType<typeof createAppointmentsService>
