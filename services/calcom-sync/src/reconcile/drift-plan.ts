/**
 * What the reconciler makes of one tenant's Cal.com bookings next to calsync's appointments: a
 * pure function, so every ordering of webhooks, syncs and reconcile passes meets the same table
 * (docs/reconciler.md). It never acts on Cal.com itself: a change calsync missed is replayed as
 * the webhook that should have come (so the appointments service's decision path keeps I1/I2),
 * a local appointment Cal.com does not reflect is re-driven through calcom-sync (which looks
 * before it creates), and anything else goes to an operator as `drift`.
 */

export type CalcomStatus = 'accepted' | 'pending' | 'cancelled' | 'rejected'

/** A booking as `GET /v2/bookings` lists it, reduced to what the comparison reads. */
export interface SeenBooking {
  uid: string
  status: CalcomStatus
  start: string
  end: string
  eventTypeId: number
  /** The appointment id calsync put in its metadata, if any (anyone with the link can forge it). */
  appointmentId: string | undefined
  rescheduledFromUid: string | null
  rescheduledToUid: string | null
}

export type SyncStatus = 'pending' | 'synced' | 'failed' | 'conflict' | 'skipped'

/** An appointment as the appointments service reports it for a reconcile pass. */
export interface KnownAppointment {
  id: string
  status: 'booked' | 'cancelled'
  start: string
  syncStatus: SyncStatus
  /** The booking calsync holds as current (its chain's end), if any. */
  currentUid: string | null
  /** Every booking uid in the appointment's chain, current or not. */
  uids: readonly string[]
  /**
   * A change is on its way (a local version calcom-sync has not finished, a webhook still waiting
   * for what it depends on, or a change after the pass began): compared next pass, not now.
   */
  settling: boolean
}

export type DriftKind =
  | 'missed_create'
  | 'missed_reschedule'
  | 'missed_cancel'
  | 'missing_on_calcom'
  | 'active_on_calcom_only'
  | 'time_mismatch'
  | 'ambiguous'

/** The webhook a missed Cal.com change is replayed as. */
export interface Replay {
  trigger: 'BOOKING_CREATED' | 'BOOKING_REQUESTED' | 'BOOKING_RESCHEDULED' | 'BOOKING_CANCELLED' | 'BOOKING_REJECTED'
  uid: string
  rescheduleUid: string | null
}

export type DriftAction =
  /** In order: a chain of moves, then its end's cancel (each waits in the decision path for the one before). */
  | { kind: 'replay'; replays: Replay[] }
  | { kind: 'redrive'; appointmentId: string }
  | { kind: 'review'; appointmentIds: string[]; uids: string[] }

export interface Drift {
  kind: DriftKind
  /** The booking and the appointment the difference is between, where there is one. */
  uid: string | null
  appointmentId: string | null
  detail: string
  action: DriftAction
}

export interface DriftPlan {
  drifts: Drift[]
  /** Bookings whose successor or predecessor was not in the listing: look them up and plan again. */
  lookups: string[]
  /** Appointments left for the next pass because a change of theirs is still on its way. */
  settling: string[]
}

/** Missed Cal.com changes: what webhooks should have told (counts towards webhook silence). */
export const MISSED_WEBHOOK_KINDS: readonly DriftKind[] = ['missed_create', 'missed_reschedule', 'missed_cancel']

const isOpen = (booking: SeenBooking) => booking.status === 'accepted' || booking.status === 'pending'
/** The webhook that ends a booking as Cal.com ended it. */
const endOf = (booking: SeenBooking): Replay => ({
  trigger: booking.status === 'rejected' ? 'BOOKING_REJECTED' : 'BOOKING_CANCELLED',
  uid: booking.uid,
  rescheduleUid: null,
})
const sameInstant = (a: string, b: string) => Date.parse(a) === Date.parse(b)

/**
 * `bookings`: what Cal.com listed (changed since the watermark, and the upcoming window), plus
 * anything looked up. `appointments`: calsync's appointments that any of those bookings names or
 * whose chain holds one, and every appointment of the upcoming window. `window`: appointments in
 * it whose booking was not listed are missing on Cal.com (outside it, not listed means not looked at).
 */
export function planDrift(input: {
  bookings: readonly SeenBooking[]
  appointments: readonly KnownAppointment[]
  window: { from: string; to: string }
  /** Uids looked up by `bookingUid` that Cal.com does not have (deleted, or never made). */
  notFound?: readonly string[]
}): DriftPlan {
  const absent = new Set(input.notFound ?? [])
  const byUid = new Map(input.bookings.map((booking) => [booking.uid, booking]))
  const owner = new Map<string, KnownAppointment>()
  for (const appointment of input.appointments) for (const uid of appointment.uids) owner.set(uid, appointment)
  const byId = new Map(input.appointments.map((appointment) => [appointment.id, appointment]))
  const drifts: Drift[] = []
  const lookups = new Set<string>()
  const settling = new Set<string>()
  const handled = new Set<string>()

  const note = (drift: Drift) => {
    drifts.push(drift)
    if (drift.appointmentId) handled.add(drift.appointmentId)
  }
  const postpone = (appointment: KnownAppointment) => {
    settling.add(appointment.id)
    handled.add(appointment.id)
  }

  const moveOf = (booking: SeenBooking, from: string): Replay => ({
    // Rescheduling a booking that needs confirmation is a new request, not BOOKING_RESCHEDULED (§8).
    trigger: booking.status === 'pending' ? 'BOOKING_REQUESTED' : 'BOOKING_RESCHEDULED',
    uid: booking.uid,
    rescheduleUid: from,
  })
  const claimed = new Set<string>()

  // Chains first: from each appointment's current booking, Cal.com's moves calsync never heard of,
  // to their end (which may itself be cancelled since: moved, then cancelled, all untold).
  for (const appointment of input.appointments) {
    const start = appointment.currentUid ? byUid.get(appointment.currentUid) : undefined
    if (!start?.rescheduledToUid || isOpen(start) || appointment.settling) continue
    const hops: SeenBooking[] = []
    let end = start
    let incomplete = false
    while (end.rescheduledToUid && !absent.has(end.rescheduledToUid)) {
      const next = byUid.get(end.rescheduledToUid)
      if (!next) {
        lookups.add(end.rescheduledToUid)
        incomplete = true
        break
      }
      if (next === start || hops.includes(next)) break // a loop is no chain
      hops.push(next)
      end = next
    }
    if (incomplete) {
      handled.add(appointment.id)
      continue
    }
    const unknownHops = hops.filter((hop) => owner.get(hop.uid)?.id !== appointment.id)
    if (hops.some((hop) => owner.has(hop.uid) && owner.get(hop.uid)?.id !== appointment.id)) continue
    for (const hop of hops) claimed.add(hop.uid)
    if (unknownHops.length === 0) continue
    const replays = unknownHops.map((hop) => moveOf(hop, hop.rescheduledFromUid ?? start.uid))
    const ended = !isOpen(end) && !(end.rescheduledToUid && !absent.has(end.rescheduledToUid))
    if (ended) replays.push(endOf(end))
    note({
      kind: 'missed_reschedule',
      uid: end.uid,
      appointmentId: appointment.id,
      detail: `booking ${start.uid} was rescheduled on Cal.com to ${hops.map((hop) => hop.uid).join(' → ')}${ended ? `, then ${end.status}` : ` at ${end.start}`}`,
      action: { kind: 'replay', replays },
    })
  }

  // Cal.com's side: every listed booking calsync does not hold as it is.
  for (const booking of input.bookings) {
    const known = owner.get(booking.uid)
    if (!known) {
      if (claimed.has(booking.uid)) continue // a hop of a chain above
      if (!isOpen(booking)) continue // a booking that ended before calsync ever knew it changes nothing
      const named = booking.appointmentId ? byId.get(booking.appointmentId) : undefined
      if (named?.settling) {
        postpone(named)
        continue
      }
      if (named?.currentUid && !byUid.has(named.currentUid) && !absent.has(named.currentUid)) {
        lookups.add(named.currentUid)
        continue
      }
      const namedCurrent = named?.currentUid ? byUid.get(named.currentUid) : undefined
      if (named && namedCurrent && isOpen(namedCurrent)) {
        note({
          kind: 'ambiguous',
          uid: booking.uid,
          appointmentId: named.id,
          detail: `booking ${booking.uid} names appointment ${named.id}, which already has open booking ${namedCurrent.uid}`,
          action: { kind: 'review', appointmentIds: [named.id], uids: [namedCurrent.uid, booking.uid] },
        })
        continue
      }
      const from = booking.rescheduledFromUid
      const fromOwner = from ? owner.get(from) : undefined
      if (from && fromOwner) {
        if (fromOwner.settling) {
          postpone(fromOwner)
          continue
        }
        note({
          kind: 'missed_reschedule',
          uid: booking.uid,
          appointmentId: fromOwner.id,
          detail: `booking ${from} was rescheduled on Cal.com to ${booking.uid} at ${booking.start}`,
          action: { kind: 'replay', replays: [moveOf(booking, from)] },
        })
        continue
      }
      note({
        kind: 'missed_create',
        uid: booking.uid,
        appointmentId: named?.id ?? null,
        detail: `booking ${booking.uid} at ${booking.start} is not known to calsync`,
        action: {
          kind: 'replay',
          replays: [
            {
              trigger: booking.status === 'pending' ? 'BOOKING_REQUESTED' : 'BOOKING_CREATED',
              uid: booking.uid,
              rescheduleUid: null,
            },
          ],
        },
      })
      continue
    }
    if (known.settling) {
      postpone(known)
      continue
    }
    if (handled.has(known.id)) continue
    if (booking.uid !== known.currentUid) {
      // An earlier booking of the chain still open next to the current one: two bookings, one appointment.
      const current = known.currentUid ? byUid.get(known.currentUid) : undefined
      if (isOpen(booking) && (!current || isOpen(current)) && !booking.rescheduledToUid) {
        const uids = [booking.uid, ...(known.currentUid ? [known.currentUid] : [])]
        note({
          kind: 'ambiguous',
          uid: booking.uid,
          appointmentId: known.id,
          detail: `booking ${booking.uid} of appointment ${known.id} is open on Cal.com next to its current one`,
          action: { kind: 'review', appointmentIds: [known.id], uids },
        })
      }
      continue
    }
    // The booking calsync holds as current.
    if (!isOpen(booking)) {
      const next = booking.rescheduledToUid
      if (next && !byUid.has(next) && !absent.has(next)) {
        lookups.add(next)
        continue
      }
      // A successor that is listed is this appointment's missed reschedule (found above) or known.
      if (next && byUid.has(next)) continue
      if (known.status === 'cancelled') continue
      note({
        kind: 'missed_cancel',
        uid: booking.uid,
        appointmentId: known.id,
        detail: `booking ${booking.uid} was ${booking.status} on Cal.com`,
        action: { kind: 'replay', replays: [endOf(booking)] },
      })
      continue
    }
    if (known.status === 'cancelled') {
      if (known.syncStatus !== 'synced') continue // the cancel's own sync (or its review item) is the answer
      note({
        kind: 'active_on_calcom_only',
        uid: booking.uid,
        appointmentId: known.id,
        detail: `appointment ${known.id} is cancelled, but its booking ${booking.uid} is open on Cal.com`,
        action: { kind: 'redrive', appointmentId: known.id },
      })
      continue
    }
    if (known.syncStatus === 'synced' && !sameInstant(booking.start, known.start)) {
      note({
        kind: 'time_mismatch',
        uid: booking.uid,
        appointmentId: known.id,
        detail: `appointment ${known.id} is at ${known.start}, its booking ${booking.uid} at ${booking.start}`,
        action: { kind: 'redrive', appointmentId: known.id },
      })
    }
  }

  // calsync's side: booked and synced appointments of the window Cal.com does not show.
  const from = Date.parse(input.window.from)
  const to = Date.parse(input.window.to)
  for (const appointment of input.appointments) {
    if (handled.has(appointment.id) || appointment.settling) {
      if (appointment.settling) settling.add(appointment.id)
      continue
    }
    if (appointment.status !== 'booked' || appointment.syncStatus !== 'synced') continue
    const at = Date.parse(appointment.start)
    if (at < from || at >= to) continue
    const uid = appointment.currentUid
    if (uid && byUid.has(uid)) continue // compared above
    // Not listed is not gone: a listing can miss it (paging while bookings change). Look first.
    if (uid && !absent.has(uid)) {
      lookups.add(uid)
      continue
    }
    note({
      kind: 'missing_on_calcom',
      uid: appointment.currentUid,
      appointmentId: appointment.id,
      detail: appointment.currentUid
        ? `appointment ${appointment.id} is synced, but Cal.com does not list its booking ${appointment.currentUid}`
        : `appointment ${appointment.id} is synced, but holds no Cal.com booking`,
      action: { kind: 'redrive', appointmentId: appointment.id },
    })
  }

  // One appointment, several open bookings naming it that calsync does not know: only a person can tell.
  return { drifts: collapseAmbiguous(drifts), lookups: [...lookups], settling: [...settling] }
}

/** Two replays that would each claim the same appointment are one `ambiguous` drift instead. */
function collapseAmbiguous(drifts: Drift[]): Drift[] {
  const creates = new Map<string, Drift[]>()
  for (const drift of drifts) {
    if (drift.kind === 'missed_create' && drift.appointmentId) {
      creates.set(drift.appointmentId, [...(creates.get(drift.appointmentId) ?? []), drift])
    }
  }
  const out: Drift[] = []
  const merged = new Set<string>()
  for (const drift of drifts) {
    const group = drift.appointmentId ? creates.get(drift.appointmentId) : undefined
    if (!group || group.length < 2 || drift.kind !== 'missed_create') {
      out.push(drift)
      continue
    }
    if (merged.has(drift.appointmentId as string)) continue
    merged.add(drift.appointmentId as string)
    const uids = group.map((item) => item.uid as string)
    out.push({
      kind: 'ambiguous',
      uid: null,
      appointmentId: drift.appointmentId,
      detail: `bookings ${uids.join(', ')} all name appointment ${drift.appointmentId}`,
      action: { kind: 'review', appointmentIds: [drift.appointmentId as string], uids },
    })
  }
  return out
}
