import { type AppointmentEvent, CALSYNC_METADATA } from '@calsync/contracts'
import type { CalcomBooking, CalcomClient } from '../calcom/calcom-client.ts'
import { CalcomError } from '../calcom/calcom-errors.ts'
import type { MappingDoc, SyncStore } from './sync-store.ts'

export type ReconcileResult = { kind: 'stale' } | { kind: 'synced'; calcomBookingUid: string | null }

type Snapshot = AppointmentEvent['appointment']

const sameInstant = (a: string, b: string) => Date.parse(a) === Date.parse(b)

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

  /** Follows a reschedule whose answer was lost: the old uid now points at its successor. */
  async function currentBooking(apiKey: string, uid: string): Promise<CalcomBooking> {
    let booking = await calcom.getBooking(apiKey, uid)
    for (let hops = 0; booking.status === 'cancelled' && booking.rescheduledToUid && hops < 10; hops++) {
      booking = await calcom.getBooking(apiKey, booking.rescheduledToUid)
    }
    return booking
  }

  async function ensureBooked(apiKey: string, snapshot: Snapshot, mapping: MappingDoc): Promise<string> {
    let uid = mapping.syncedStatus === 'cancelled' ? null : mapping.calcomBookingUid
    let start = mapping.syncedStart
    if (mapping.inFlight && uid) {
      const booking = await currentBooking(apiKey, uid)
      uid = booking.status === 'cancelled' ? null : booking.uid
      start = booking.start
    } else if (mapping.inFlight) {
      const found = await findOurBooking(apiKey, snapshot)
      if (found) {
        uid = found.uid
        start = found.start
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
      return booking.uid
    }
    if (start && sameInstant(start, snapshot.start)) return uid
    // Through Cal.com's reschedule, not cancel + create, so Cal.com keeps the link (DESIGN §2).
    await markInFlight(mapping, 'reschedule', snapshot.version)
    const moved = await calcom.rescheduleBooking(apiKey, uid, snapshot.start, `moved in calsync (${snapshot.origin})`)
    return moved.uid
  }

  async function ensureCancelled(apiKey: string, snapshot: Snapshot, mapping: MappingDoc): Promise<string | null> {
    let uid = mapping.calcomBookingUid
    if (mapping.inFlight && uid) uid = (await currentBooking(apiKey, uid)).uid
    else if (mapping.inFlight?.kind === 'create') uid = (await findOurBooking(apiKey, snapshot))?.uid ?? null
    if (!uid || mapping.syncedStatus === 'cancelled') return uid
    await markInFlight(mapping, 'cancel', snapshot.version)
    try {
      await calcom.cancelBooking(apiKey, uid, `cancelled in calsync (${snapshot.origin})`)
    } catch (error) {
      // Cal.com refuses to cancel twice: an earlier attempt may have done it already.
      if (!(error instanceof CalcomError) || error.retryable) throw error
      const booking = await calcom.getBooking(apiKey, uid).catch(() => undefined)
      if (booking?.status !== 'cancelled') throw error
    }
    return uid
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
      const uid =
        snapshot.status === 'booked'
          ? await ensureBooked(apiKey, snapshot, mapping)
          : await ensureCancelled(apiKey, snapshot, mapping)
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
      return { kind: 'synced', calcomBookingUid: uid }
    },
  }
}

export type BookingReconciler = ReturnType<typeof createBookingReconciler>
