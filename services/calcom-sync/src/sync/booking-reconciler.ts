import { type AppointmentEvent, CALSYNC_METADATA, ERROR_CODES, type SyncAction } from '@calsync/contracts'
import type { CalcomBooking, CalcomClient } from '../calcom/calcom-client.ts'
import { CalcomError } from '../calcom/calcom-errors.ts'
import type { HeldLease } from './appointment-lease.ts'
import {
  type BookingStep,
  familyOf,
  type InFlightCall,
  type ObservedBooking,
  type PlannedCall,
  planCalls,
} from './booking-plan.ts'
import type { MappingDoc, SyncStore } from './sync-store.ts'

type Snapshot = AppointmentEvent['appointment']

/**
 * What the sync did, as facts for the appointments service: `steps` is every step of the
 * appointment's bookings this attempt made or found (attributed); `action` and
 * `previousBookingUid` are the last step calsync made itself, for readers of the single fields.
 */
export interface SyncOutcome {
  calcomBookingUid: string | null
  action: SyncAction
  previousBookingUid: string | null
  start?: string
  steps: BookingStep[]
  mapping: MappingDoc
}

export interface ReconcileInput {
  apiKey: string
  event: AppointmentEvent
  mapping: MappingDoc
  /** An earlier attempt at this event failed: its call may have gone through. */
  retry: boolean
  lease: HeldLease
}

/** Pages of a look-up at most: 250 bookings each; one attendee and event type rarely fill one. */
const MAX_PAGES = 40
const PAGE_SIZE = 250
/** A Cal.com booking is older than its appointment record when it came by webhook (waits, outages). */
const CREATED_SLACK_MS = 24 * 60 * 60_000

const isoUtc = (time: string) => new Date(time).toISOString()
const sameInstant = (a: string, b: string) => Date.parse(a) === Date.parse(b)

/** A refusal that means Cal.com's booking is not where we thought (moved, cancelled, gone): look, then decide. */
const isStaleView = (error: unknown) =>
  error instanceof CalcomError &&
  !error.retryable &&
  error.code !== ERROR_CODES.calcomUnauthorized &&
  error.code !== ERROR_CODES.calcomForbidden

function observed(booking: CalcomBooking): ObservedBooking {
  const appointmentId = booking.metadata?.[CALSYNC_METADATA.appointmentId]
  return {
    uid: booking.uid,
    status: String(booking.status ?? ''),
    start: booking.start,
    rescheduledFromUid: booking.rescheduledFromUid ?? null,
    rescheduledToUid: booking.rescheduledToUid ?? null,
    appointmentId: typeof appointmentId === 'string' ? appointmentId : null,
    createdAt: (booking as { createdAt?: string }).createdAt ?? null,
  }
}

const sameCall = (a: PlannedCall, b: PlannedCall | undefined) =>
  b !== undefined &&
  a.kind === b.kind &&
  (a.kind === 'create' || a.uid === (b as { uid: string }).uid) &&
  (a.kind === 'cancel' || sameInstant(a.start, (b as { start: string }).start))

const sameStep = (a: BookingStep, b: BookingStep) =>
  a.action === b.action && a.uid === b.uid && a.previousBookingUid === b.previousBookingUid

/** calsync's earlier steps the attempt did not repeat, then the attempt's own (see SyncResult `steps`). */
const withHistory = (history: readonly BookingStep[], steps: readonly BookingStep[]): BookingStep[] => [
  ...history.filter((old) => old.by === 'calsync' && !steps.some((step) => sameStep(step, old))),
  ...steps,
]

const withUid = (uids: string[], uid: string | null) => (uid && !uids.includes(uid) ? [...uids, uid] : uids)

/**
 * Brings the Cal.com bookings of one appointment to an event's snapshot — reconcile, do not
 * replay (I4). The first attempt with nothing in doubt writes at once (one call); anything in
 * doubt — a retry, a call whose answer was lost, a uid the mapping has not seen, a refusal —
 * first looks up every booking of the appointment across all pages and decides from what Cal.com
 * holds (booking-plan.ts). Every write is marked in flight beforehand, under the lease.
 */
export function createBookingReconciler(deps: { calcom: CalcomClient; store: SyncStore; clock?: () => Date }) {
  const { calcom, store } = deps
  const clock = deps.clock ?? (() => new Date())

  async function lookUp(apiKey: string, snapshot: Snapshot): Promise<ObservedBooking[]> {
    const found: ObservedBooking[] = []
    const afterCreatedAt = new Date(Date.parse(snapshot.createdAt) - CREATED_SLACK_MS).toISOString()
    for (let page = 0; page < MAX_PAGES; page++) {
      const { bookings, hasNextPage } = await calcom.listBookings(apiKey, {
        attendeeEmail: snapshot.attendee.email,
        eventTypeId: snapshot.eventTypeId,
        afterCreatedAt,
        sortCreated: 'asc',
        take: PAGE_SIZE,
        skip: page * PAGE_SIZE,
      })
      for (const booking of bookings)
        if (!found.some((known) => known.uid === booking.uid)) found.push(observed(booking))
      if (!hasNextPage || bookings.length === 0) return found
    }
    throw new CalcomError(ERROR_CODES.calcomServerError, `more than ${MAX_PAGES} pages of bookings to look through`, {
      retryable: true,
    })
  }

  return {
    async reconcile(input: ReconcileInput): Promise<SyncOutcome> {
      const { apiKey, event, lease } = input
      const snapshot = event.appointment
      let mapping = input.mapping
      const steps: BookingStep[] = []
      // The booking a booked version ends on, once this attempt created or moved it.
      let primary: { uid: string; start: string } | null = null

      async function mark(call: InFlightCall) {
        lease.check()
        mapping = await store.saveMapping({ ...mapping, inFlight: { ...call, startedAt: clock().toISOString() } })
      }
      function did(step: BookingStep) {
        steps.push(step)
        if (step.action !== 'cancelled' && step.start) primary = { uid: step.uid, start: step.start }
        mapping = { ...mapping, steps: [...mapping.steps, step], uidHistory: withUid(mapping.uidHistory, step.uid) }
      }

      async function perform(call: PlannedCall): Promise<void> {
        switch (call.kind) {
          case 'create': {
            await mark({ kind: 'create', version: snapshot.version, uid: null, start: call.start })
            const booking = await calcom.createBooking(apiKey, {
              start: call.start,
              eventTypeId: snapshot.eventTypeId,
              attendee: {
                name: snapshot.attendee.name,
                email: snapshot.attendee.email,
                timeZone: snapshot.attendee.timeZone,
                ...(snapshot.attendee.phoneNumber ? { phoneNumber: snapshot.attendee.phoneNumber } : {}),
              },
              metadata: {
                [CALSYNC_METADATA.appointmentId]: snapshot.id,
                [CALSYNC_METADATA.tenantId]: snapshot.tenantId,
                [CALSYNC_METADATA.origin]: snapshot.origin,
              },
            })
            did({
              action: 'created',
              uid: booking.uid,
              previousBookingUid: null,
              start: isoUtc(booking.start),
              by: 'calsync',
              version: snapshot.version,
            })
            return
          }
          case 'reschedule': {
            await mark({ kind: 'reschedule', version: snapshot.version, uid: call.uid, start: call.start })
            // Through Cal.com's reschedule, not cancel + create, so Cal.com keeps the link (DESIGN §2).
            const moved = await calcom.rescheduleBooking(
              apiKey,
              call.uid,
              call.start,
              `moved in calsync (${snapshot.origin})`,
            )
            did({
              action: 'rescheduled',
              uid: moved.uid,
              previousBookingUid: call.uid,
              start: isoUtc(moved.start),
              by: 'calsync',
              version: snapshot.version,
            })
            return
          }
          case 'cancel': {
            await mark({ kind: 'cancel', version: snapshot.version, uid: call.uid, start: null })
            await calcom.cancelBooking(apiKey, call.uid, `cancelled in calsync (${snapshot.origin})`)
            did({
              action: 'cancelled',
              uid: call.uid,
              previousBookingUid: call.uid,
              by: 'calsync',
              version: snapshot.version,
            })
            return
          }
        }
      }

      /** The one call of an undoubted change, or undefined when only a look-up can tell. */
      function directCall(): PlannedCall | null | undefined {
        // A re-drive that asks to verify: the reconciler saw Cal.com not hold what the mapping says.
        const verify = event.type === 'appointment.sync_requested' && event.verify === true
        if (input.retry || mapping.inFlight || verify) return undefined
        const snapshotUid = snapshot.calcomBookingUid
        if (snapshotUid && !mapping.uidHistory.includes(snapshotUid)) return undefined
        const uid = mapping.calcomBookingUid
        if (snapshot.status === 'booked') {
          if (!uid && mapping.uidHistory.length === 0) return { kind: 'create', start: snapshot.start }
          if (!uid || mapping.syncedStatus !== 'booked' || !mapping.syncedStart) return undefined
          return sameInstant(mapping.syncedStart, snapshot.start)
            ? null
            : { kind: 'reschedule', uid, start: snapshot.start }
        }
        if (!uid) return mapping.uidHistory.length === 0 ? null : undefined
        if (mapping.syncedStatus === 'cancelled') return null
        return mapping.syncedStatus === 'booked' ? { kind: 'cancel', uid } : undefined
      }

      const direct = directCall()
      let current: { uid: string; start: string } | null =
        mapping.calcomBookingUid && mapping.syncedStatus === 'booked' && mapping.syncedStart
          ? { uid: mapping.calcomBookingUid, start: mapping.syncedStart }
          : null
      let settled = false
      // A call Cal.com refused: if the look-up leads to the very same call, the refusal stands.
      let refused: { call: PlannedCall; error: unknown } | null = null
      if (direct !== undefined) {
        try {
          if (direct) await perform(direct)
          settled = true
        } catch (error) {
          if (!isStaleView(error) || !direct || direct.kind === 'create') throw error
          refused = { call: direct, error }
        }
      }
      for (let look = 0; !settled; look++) {
        const known = withUid(withUid(mapping.uidHistory, mapping.calcomBookingUid), snapshot.calcomBookingUid)
        const family = familyOf(await lookUp(apiKey, snapshot), snapshot.id, known)
        const plan = planCalls(
          { appointmentId: snapshot.id, status: snapshot.status, start: snapshot.start },
          family,
          mapping.steps,
          mapping.inFlight,
          snapshot.calcomBookingUid ?? mapping.calcomBookingUid,
        )
        for (const step of plan.observed) {
          if (!steps.some((seen) => seen.uid === step.uid && seen.action === step.action)) steps.push(step)
          const remembered = mapping.steps.some((old) => old.uid === step.uid && old.action === step.action)
          if (step.by === 'calsync' && !remembered) mapping = { ...mapping, steps: [...mapping.steps, step] }
        }
        for (const member of family) mapping = { ...mapping, uidHistory: withUid(mapping.uidHistory, member.uid) }
        if (plan.kind === 'cancelled_on_calcom') {
          throw new CalcomError(
            ERROR_CODES.calcomBookingCancelled,
            `booking ${plan.uid} was cancelled on Cal.com; not booking it again (the change from Cal.com decides)`,
            { retryable: false },
          )
        }
        current = plan.current ? { uid: plan.current.uid, start: plan.current.start } : null
        if (current) mapping = { ...mapping, calcomBookingUid: current.uid }
        const again = refused && plan.calls.find((call) => sameCall(call, refused?.call))
        if (again && refused) throw refused.error
        let trying: PlannedCall | undefined
        try {
          for (const call of plan.calls) {
            trying = call
            await perform(call)
          }
          settled = true
        } catch (error) {
          // Cal.com changed under the look-up (the customer moved it again): look once more.
          if (!isStaleView(error) || look >= 1 || !trying) throw error
          refused = { call: trying, error }
        }
      }

      const booked = snapshot.status === 'booked'
      const before = input.mapping.steps
      // calsync's own steps of this attempt: the calls made, and those a lost answer hid until the look-up.
      const ownSteps = steps.filter((step) => step.by === 'calsync' && !before.some((old) => sameStep(old, step)))
      if (booked && !primary && current) primary = current
      // The single fields speak of the appointment's own booking, not of a duplicate cancelled on the way.
      const last = booked
        ? ownSteps.filter((step) => step.uid === primary?.uid).at(-1)
        : ownSteps.filter((step) => step.action === 'cancelled').at(-1)
      const end = booked ? (primary ?? current) : null
      const uid = booked ? (end?.uid ?? null) : (last?.uid ?? mapping.calcomBookingUid)
      mapping = { ...mapping, calcomBookingUid: uid, uidHistory: withUid(mapping.uidHistory, uid) }
      return {
        calcomBookingUid: uid,
        action: last?.action ?? 'unchanged',
        previousBookingUid: last?.previousBookingUid ?? null,
        ...(end ? { start: isoUtc(end.start) } : {}),
        steps: withHistory(mapping.steps, steps),
        mapping,
      }
    },
  }
}

export type BookingReconciler = ReturnType<typeof createBookingReconciler>
