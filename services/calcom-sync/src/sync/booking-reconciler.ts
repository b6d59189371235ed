import { type AppointmentEvent, CALSYNC_METADATA, type SyncAction } from '@calsync/contracts'
import type { CalcomBooking, CalcomClient } from '../calcom/calcom-client.ts'
import { CalcomError } from '../calcom/calcom-errors.ts'
import type { MappingDoc, SyncStore } from './sync-store.ts'

/**
 * What calsync itself did on Cal.com to reach the version, reported as facts so the appointments
 * service can tell the echoes of its own changes apart. `previousBookingUid` is the uid it moved
 * away from or cancelled; `start` is where the booking now starts (booked versions only).
 */
export interface SyncFacts {
  action: SyncAction
  previousBookingUid: string | null
  start?: string
}

type Outcome = SyncFacts & { calcomBookingUid: string | null }

export type ReconcileResult = { kind: 'stale' } | ({ kind: 'synced' } & Outcome)

type Snapshot = AppointmentEvent['appointment']

const sameInstant = (a: string, b: string) => Date.parse(a) === Date.parse(b)
const isoUtc = (time: string) => new Date(time).toISOString()

/**
 * Brings the Cal.com booking of one appointment to the state of an event's snapshot — reconcile,
 * do not replay — so duplicated and reordered events converge (I4). Before any write that an
 * earlier attempt may already have made (its answer lost), it looks at Cal.com first.
 */
export function createBookingReconciler(deps: { calcom: CalcomClient; store: SyncStore; clock?: () => Date }) {
  const { calcom, store } = deps
  const clock = deps.clock ?? (() => new Date())

  async function markInFlight(mapping: MappingDoc, kind: 'create' | 'reschedule' | 'cancel', version: number) {
    mapping.inFlight = { kind, version, startedAt: clock().toISOString() }
    await store.saveMapping(mapping)
  }

  /** A booking calsync created for this appointment, found by our metadata (a lost create answer). */
  async function findOurBooking(apiKey: string, snapshot: Snapshot): Promise<CalcomBooking | undefined> {
    const bookings = await calcom.listBookings(apiKey, {
      attendeeEmail: snapshot.attendee.email,
      eventTypeId: snapshot.eventTypeId,
    })
    return bookings.find(
      (booking) => booking.metadata?.[CALSYNC_METADATA.appointmentId] === snapshot.id && booking.status !== 'cancelled',
    )
  }

  /**
   * Follows a reschedule whose answer was lost: the old uid now points at its successor.
   * `movedFrom` is the uid whose `rescheduledToUid` is the booking reached (none if no hop).
   */
  async function currentBooking(
    apiKey: string,
    uid: string,
  ): Promise<{ booking: CalcomBooking; movedFrom: string | null }> {
    let booking = await calcom.getBooking(apiKey, uid)
    let movedFrom: string | null = null
    for (let hops = 0; booking.status === 'cancelled' && booking.rescheduledToUid && hops < 10; hops++) {
      movedFrom = booking.uid
      booking = await calcom.getBooking(apiKey, booking.rescheduledToUid)
    }
    return { booking, movedFrom }
  }

  async function ensureBooked(apiKey: string, snapshot: Snapshot, mapping: MappingDoc): Promise<Outcome> {
    let uid = mapping.syncedStatus === 'cancelled' ? null : mapping.calcomBookingUid
    let start = mapping.syncedStart
    // What an earlier attempt did without our seeing the answer, should Cal.com already match.
    let recovered: Pick<Outcome, 'action' | 'previousBookingUid'> = { action: 'unchanged', previousBookingUid: null }
    if (mapping.inFlight && uid) {
      const { booking, movedFrom } = await currentBooking(apiKey, uid)
      uid = booking.status === 'cancelled' ? null : booking.uid
      start = booking.start
      if (uid && movedFrom) recovered = { action: 'rescheduled', previousBookingUid: movedFrom }
    } else if (mapping.inFlight) {
      const found = await findOurBooking(apiKey, snapshot)
      if (found) {
        uid = found.uid
        start = found.start
        recovered = { action: 'created', previousBookingUid: null }
      }
    }
    if (!uid) {
      await markInFlight(mapping, 'create', snapshot.version)
      const booking = await calcom.createBooking(apiKey, {
        start: snapshot.start,
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
      return {
        calcomBookingUid: booking.uid,
        action: 'created',
        previousBookingUid: null,
        start: isoUtc(booking.start),
      }
    }
    if (start && sameInstant(start, snapshot.start)) {
      return { calcomBookingUid: uid, ...recovered, start: isoUtc(start) }
    }
    // Through Cal.com's reschedule, not cancel + create, so Cal.com keeps the link (DESIGN §2).
    await markInFlight(mapping, 'reschedule', snapshot.version)
    const moved = await calcom.rescheduleBooking(apiKey, uid, snapshot.start, `moved in calsync (${snapshot.origin})`)
    return { calcomBookingUid: moved.uid, action: 'rescheduled', previousBookingUid: uid, start: isoUtc(moved.start) }
  }

  async function ensureCancelled(apiKey: string, snapshot: Snapshot, mapping: MappingDoc): Promise<Outcome> {
    let uid = mapping.calcomBookingUid
    if (mapping.inFlight && uid) uid = (await currentBooking(apiKey, uid)).booking.uid
    else if (mapping.inFlight?.kind === 'create') uid = (await findOurBooking(apiKey, snapshot))?.uid ?? null
    if (!uid || mapping.syncedStatus === 'cancelled') {
      return { calcomBookingUid: uid, action: 'unchanged', previousBookingUid: null }
    }
    await markInFlight(mapping, 'cancel', snapshot.version)
    try {
      await calcom.cancelBooking(apiKey, uid, `cancelled in calsync (${snapshot.origin})`)
    } catch (error) {
      // Cal.com refuses to cancel twice: an earlier attempt may have done it already.
      if (!(error instanceof CalcomError) || error.retryable) throw error
      const booking = await calcom.getBooking(apiKey, uid).catch(() => undefined)
      if (booking?.status !== 'cancelled') throw error
    }
    return { calcomBookingUid: uid, action: 'cancelled', previousBookingUid: uid }
  }

  return {
    /** Records what Cal.com already holds for a change that came from Cal.com: no call at all (I5). */
    async adopt(event: AppointmentEvent): Promise<void> {
      const mapping = await store.mapping(event.tenantId, event.appointmentId)
      if (event.version <= mapping.syncedVersion) return
      const uid = event.appointment.calcomBookingUid ?? mapping.calcomBookingUid
      await store.saveMapping({
        ...mapping,
        calcomBookingUid: uid,
        uidHistory: uid && !mapping.uidHistory.includes(uid) ? [...mapping.uidHistory, uid] : mapping.uidHistory,
        syncedVersion: event.version,
        syncedStatus: event.appointment.status,
        syncedStart: event.appointment.start,
        inFlight: null,
        updatedAt: clock().toISOString(),
      })
    },

    async reconcile(apiKey: string, event: AppointmentEvent): Promise<ReconcileResult> {
      const mapping = await store.mapping(event.tenantId, event.appointmentId)
      if (event.version <= mapping.syncedVersion) return { kind: 'stale' }
      const snapshot = event.appointment
      const outcome =
        snapshot.status === 'booked'
          ? await ensureBooked(apiKey, snapshot, mapping)
          : await ensureCancelled(apiKey, snapshot, mapping)
      const uid = outcome.calcomBookingUid
      await store.saveMapping({
        ...mapping,
        calcomBookingUid: uid,
        uidHistory: uid && !mapping.uidHistory.includes(uid) ? [...mapping.uidHistory, uid] : mapping.uidHistory,
        syncedVersion: event.version,
        syncedStatus: uid ? snapshot.status : null,
        syncedStart: snapshot.start,
        inFlight: null,
        updatedAt: clock().toISOString(),
      })
      return { kind: 'synced', ...outcome }
    },
  }
}

export type BookingReconciler = ReturnType<typeof createBookingReconciler>
