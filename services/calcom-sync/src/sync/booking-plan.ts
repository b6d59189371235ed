/**
 * What to do on Cal.com, decided from what Cal.com holds for one appointment: its bookings (found
 * by calsync's metadata and by the reschedule links between them) and the state the newest
 * version asks for. Pure, so every ordering of lost answers, crashes and customer changes is a
 * row in a table of cases.
 */
import type { BookingStep } from '@calsync/contracts'

export type { BookingStep }

export interface ObservedBooking {
  uid: string
  status: string
  start: string
  /** Set when the booking was made by rescheduling another one. */
  rescheduledFromUid: string | null
  rescheduledToUid: string | null
  /** calsync's appointment id in the booking's metadata (carried over by reschedules). */
  appointmentId: string | null
  createdAt: string | null
}

/** The call calsync may have made without seeing Cal.com's answer. */
export interface InFlightCall {
  kind: 'create' | 'reschedule' | 'cancel'
  version: number
  /** The booking rescheduled or cancelled. */
  uid: string | null
  /** Where a create or reschedule asked the booking to start. */
  start: string | null
}

export interface Desired {
  appointmentId: string
  status: 'booked' | 'cancelled'
  start: string
}

export type PlannedCall =
  | { kind: 'create'; start: string }
  | { kind: 'reschedule'; uid: string; start: string }
  | { kind: 'cancel'; uid: string }

export type Plan =
  | { kind: 'calls'; calls: PlannedCall[]; observed: BookingStep[]; current: ObservedBooking | null }
  /** Cal.com's side cancelled the booking: creating a new one would resurrect it (the change is coming as a webhook). */
  | { kind: 'cancelled_on_calcom'; uid: string; observed: BookingStep[] }

const CLOSED = new Set(['cancelled', 'rejected'])
export const isActive = (booking: Pick<ObservedBooking, 'status'>) => !CLOSED.has(booking.status.toLowerCase())
const sameInstant = (a: string, b: string) => Date.parse(a) === Date.parse(b)

/** The bookings of one appointment: ours by metadata, the known uids, and everything linked to them by reschedules. */
export function familyOf(
  bookings: readonly ObservedBooking[],
  appointmentId: string,
  knownUids: readonly string[],
): ObservedBooking[] {
  const members = new Set<string>(knownUids)
  for (const booking of bookings) if (booking.appointmentId === appointmentId) members.add(booking.uid)
  // Links in either direction, until nothing new joins: either field alone is enough.
  for (let grew = true; grew; ) {
    grew = false
    for (const booking of bookings) {
      if (members.has(booking.uid)) {
        if (booking.rescheduledToUid && !members.has(booking.rescheduledToUid)) {
          members.add(booking.rescheduledToUid)
          grew = true
        }
      } else if (booking.rescheduledFromUid && members.has(booking.rescheduledFromUid)) {
        members.add(booking.uid)
        grew = true
      }
    }
  }
  // Another appointment's metadata wins over any link or remembered uid: never touch its booking.
  return bookings.filter(
    (booking) =>
      members.has(booking.uid) && (booking.appointmentId === null || booking.appointmentId === appointmentId),
  )
}

function predecessorOf(family: readonly ObservedBooking[], booking: ObservedBooking): string | null {
  if (booking.rescheduledFromUid && family.some((other) => other.uid === booking.rescheduledFromUid)) {
    return booking.rescheduledFromUid
  }
  return family.find((other) => other.rescheduledToUid === booking.uid)?.uid ?? null
}

const hasSuccessor = (family: readonly ObservedBooking[], booking: ObservedBooking) =>
  family.some((other) => other !== booking && predecessorOf(family, other) === booking.uid)

/**
 * The family's history as steps, each attributed: calsync's if it is in `ours` or is the call in
 * flight; a creation carrying our metadata is ours (only calsync writes it); the rest is Cal.com's
 * side (the customer or the host).
 */
export function stepsOf(
  family: readonly ObservedBooking[],
  appointmentId: string,
  ours: readonly BookingStep[],
  inFlight: InFlightCall | null,
): BookingStep[] {
  const steps: BookingStep[] = []
  const oursHas = (action: BookingStep['action'], uid: string, previous: string | null) =>
    ours.some((step) => step.action === action && step.uid === uid && step.previousBookingUid === previous)
  for (const booking of family) {
    const from = predecessorOf(family, booking)
    if (from) {
      const inFlightMove =
        inFlight?.kind === 'reschedule' &&
        inFlight.uid === from &&
        inFlight.start !== null &&
        sameInstant(inFlight.start, booking.start)
      const by = oursHas('rescheduled', booking.uid, from) || inFlightMove ? 'calsync' : 'calcom'
      steps.push({ action: 'rescheduled', uid: booking.uid, previousBookingUid: from, start: booking.start, by })
    } else {
      const by = oursHas('created', booking.uid, null) || booking.appointmentId === appointmentId ? 'calsync' : 'calcom'
      steps.push({ action: 'created', uid: booking.uid, previousBookingUid: null, start: booking.start, by })
    }
  }
  for (const booking of family) {
    if (isActive(booking) || hasSuccessor(family, booking)) continue
    const inFlightCancel = inFlight?.kind === 'cancel' && inFlight.uid === booking.uid
    const by = oursHas('cancelled', booking.uid, booking.uid) || inFlightCancel ? 'calsync' : 'calcom'
    steps.push({ action: 'cancelled', uid: booking.uid, previousBookingUid: booking.uid, by })
  }
  return steps
}

/**
 * The calls that bring the family to the desired state: exactly one active booking at the
 * desired start for a booked appointment (extra ones, left by lost answers, are cancelled), none
 * for a cancelled one. Never a new booking where Cal.com's side cancelled the booking.
 */
export function planCalls(
  desired: Desired,
  family: readonly ObservedBooking[],
  ours: readonly BookingStep[],
  inFlight: InFlightCall | null,
  preferredUid: string | null,
): Plan {
  const observed = stepsOf(family, desired.appointmentId, ours, inFlight)
  const active = family.filter((booking) => isActive(booking) && !hasSuccessor(family, booking))
  if (desired.status === 'cancelled') {
    return {
      kind: 'calls',
      calls: active.map((booking) => ({ kind: 'cancel', uid: booking.uid })),
      observed,
      current: null,
    }
  }
  if (active.length === 0) {
    const cancelledElsewhere = observed.find((step) => step.action === 'cancelled' && step.by === 'calcom')
    if (cancelledElsewhere) return { kind: 'cancelled_on_calcom', uid: cancelledElsewhere.uid, observed }
    return { kind: 'calls', calls: [{ kind: 'create', start: desired.start }], observed, current: null }
  }
  const keep =
    active.find((booking) => sameInstant(booking.start, desired.start)) ??
    active.find((booking) => booking.uid === preferredUid) ??
    [...active].sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''))[0]
  const current = keep ?? null
  const calls: PlannedCall[] = active
    .filter((booking) => booking !== keep)
    .map((booking) => ({ kind: 'cancel' as const, uid: booking.uid }))
  if (keep && !sameInstant(keep.start, desired.start)) {
    calls.unshift({ kind: 'reschedule', uid: keep.uid, start: desired.start })
  }
  return { kind: 'calls', calls, observed, current }
}
