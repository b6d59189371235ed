import type { AppointmentSnapshot, BookingTrigger, EventTypeMapping } from '@calsync/contracts'
import { MAX_APPOINTMENT_MS } from '../appointments/appointment.ts'
import {
  type ChainFact,
  type ChainLink,
  chainEnd,
  isUnambiguous,
  linkOf,
  madeBy,
  successorOf,
} from '../sync/booking-chain.ts'

/**
 * The one place that decides what a verified Cal.com webhook means (the table in ../../README.md,
 * "Cal.com webhooks: the decision table"). A pure function of the webhook and of what calsync
 * knows about the appointment it concerns; the handler only gathers the inputs and carries out
 * the answer. Echoes are recognised by what calsync itself did (its sync results put those steps
 * in the chain), never by "the appointment was once at this time".
 */

export const MAX_BOOKING_MS = MAX_APPOINTMENT_MS

/**
 * What a booking webhook does to the booking it names, whatever its trigger is called: a pending
 * request is a booking (or a move) that awaits confirmation, a rejection is a cancel.
 */
export type BookingChange = 'BOOKING_CREATED' | 'BOOKING_RESCHEDULED' | 'BOOKING_CANCELLED'

export function changeOf(trigger: BookingTrigger, rescheduleUid: string | null): BookingChange {
  switch (trigger) {
    case 'BOOKING_REQUESTED':
      return rescheduleUid ? 'BOOKING_RESCHEDULED' : 'BOOKING_CREATED'
    case 'BOOKING_REJECTED':
      return 'BOOKING_CANCELLED'
    default:
      return trigger
  }
}

export interface WebhookFacts {
  /** What the webhook does (changeOf its trigger). */
  trigger: BookingChange
  /** What the booking waits for after this change: a request its confirmation, a host's reschedule request a new time. */
  awaiting: 'confirmation' | 'new_time' | null
  uid: string
  rescheduleUid: string | null
  /** Parsed times; the gateway already refused what does not parse. */
  start: string
  end: string
  eventTypeId: number
  eventType: EventTypeMapping | undefined
  /** The appointment id calsync put in the booking's metadata, if any (anyone can forge it). */
  metadataAppointmentId: string | undefined
  attendeeEmail: string | undefined
}

/** How the handler found the appointment a webhook is about. */
export type Via = 'uid' | 'previous-uid' | 'metadata' | 'booking-id'

export interface Target {
  appointment: AppointmentSnapshot
  chain: readonly ChainLink[]
  /** A local change calcom-sync has not finished (no terminal sync result yet). */
  awaiting: boolean
  via: Via
}

export type WaitReason = 'unknown_booking' | 'awaiting_sync' | 'chain_gap'
export type ReviewCode = 'unknown_event_type' | 'invalid_interval' | 'conflicting_state' | WaitReason

export type Decision =
  /** A booking of its own; `cancelled`: one calsync learns of only by its cancel (row 32). */
  | { kind: 'create'; facts: ChainFact[]; status?: 'cancelled' }
  | { kind: 'reschedule'; facts: ChainFact[] }
  | { kind: 'cancel'; facts: ChainFact[] }
  /** calsync's own change coming back; `facts` it did not know yet (a create whose answer it lost). */
  | { kind: 'echo'; facts: ChainFact[] }
  /** The host confirmed a requested booking: same booking, no longer awaiting confirmation. */
  | { kind: 'confirm' }
  /** Already applied; `recheck` redoes the double-booking report of a booking made from Cal.com. */
  | { kind: 'duplicate'; recheck: boolean; facts: ChainFact[] }
  | { kind: 'stale' }
  | { kind: 'defer'; reason: WaitReason }
  | { kind: 'review'; code: ReviewCode; message: string }

const review = (code: ReviewCode, message: string): Decision => ({ kind: 'review', code, message })
const defer = (reason: WaitReason): Decision => ({ kind: 'defer', reason })

/** Rows 1–3: what no booking may look like, whatever it is about. */
function implausible(webhook: WebhookFacts): Decision | undefined {
  if (!webhook.eventType)
    return review('unknown_event_type', `event type ${webhook.eventTypeId} is not configured for this tenant`)
  const length = Date.parse(webhook.end) - Date.parse(webhook.start)
  if (!(length > 0) || length > MAX_BOOKING_MS)
    return review('invalid_interval', 'the booking does not end after it starts, or lasts over a day')
  if (length !== webhook.eventType.lengthMinutes * 60_000) {
    return review(
      'invalid_interval',
      `the booking lasts ${length / 60_000} minutes; its event type lasts ${webhook.eventType.lengthMinutes}`,
    )
  }
  return undefined
}

function created(webhook: WebhookFacts, target: Target | undefined): Decision {
  const booked: ChainFact = { kind: 'booked', uid: webhook.uid, by: 'calcom', version: 1, start: webhook.start }
  if (!target) return { kind: 'create', facts: [booked] }
  const { appointment, chain } = target
  const by = madeBy(chain, booked)
  if (by === 'calsync') return { kind: 'echo', facts: [] }
  // The confirmation of the request this appointment holds (a repeated request confirms nothing).
  const confirms =
    webhook.awaiting === null &&
    appointment.awaiting === 'confirmation' &&
    appointment.status === 'booked' &&
    chainEnd(chain)?.uid === webhook.uid
  if (confirms) return target.awaiting ? defer('awaiting_sync') : { kind: 'confirm' }
  if (by === 'calcom' || target.via === 'booking-id') return { kind: 'duplicate', recheck: true, facts: [] }
  if (target.via !== 'metadata') return defer('chain_gap')
  // The metadata names an appointment: ours only if it is waiting for exactly this booking.
  if (target.awaiting) return defer('awaiting_sync')
  const current = chainEnd(chain)
  const matches =
    appointment.status === 'booked' &&
    (!current || current.cancelled !== undefined) &&
    Date.parse(appointment.start) === Date.parse(webhook.start) &&
    appointment.eventTypeId === webhook.eventTypeId &&
    webhook.attendeeEmail?.toLowerCase() === appointment.attendee.email.toLowerCase()
  if (matches) {
    return {
      kind: 'echo',
      facts: [{ kind: 'booked', uid: webhook.uid, by: 'calsync', version: appointment.version, start: webhook.start }],
    }
  }
  return { kind: 'create', facts: [booked] }
}

/**
 * A reschedule of a booking calsync never saw and no appointment of it claims: the new booking is
 * real and holds its slot on Cal.com, so once its wait is over it is booked here as it stands. The
 * booking it replaced joins the chain as that booking's predecessor, so its own CREATED, if it
 * comes after all, is a duplicate of this appointment and not a second one at the old time.
 */
function unseenPredecessor(webhook: WebhookFacts, from: string): Decision {
  return {
    kind: 'create',
    facts: [
      { kind: 'booked', uid: from, by: 'calcom', version: 1 },
      { kind: 'moved', from, uid: webhook.uid, by: 'calcom', version: 1, start: webhook.start },
    ],
  }
}

/**
 * A move of a booking calsync never saw, whose metadata (Cal.com carries it from booking to
 * booking) names an appointment: the move before it was lost, so once its wait is over the
 * appointment moves, the unseen booking joining its chain between its current booking and the
 * new one. Only an appointment that could have been that booking's (booked on an open booking, of
 * the same event type and attendee) is taken at its metadata's word: anything else is a booking of
 * its own (row 31), which holds its slot, and the reconciler reports what it finds open beside it.
 */
function unseenHop(webhook: WebhookFacts, target: Target, from: string): Decision {
  const { appointment, chain } = target
  if (target.awaiting) return defer('awaiting_sync')
  if (!isUnambiguous(chain)) return defer('chain_gap')
  const current = chainEnd(chain)
  const couldBeOurs =
    appointment.status === 'booked' &&
    current !== undefined &&
    current.cancelled === undefined &&
    appointment.eventTypeId === webhook.eventTypeId &&
    webhook.attendeeEmail?.toLowerCase() === appointment.attendee.email.toLowerCase()
  if (!couldBeOurs) return unseenPredecessor(webhook, from)
  const version = appointment.version + 1
  return {
    kind: 'reschedule',
    facts: [
      { kind: 'moved', from: current.uid, uid: from, by: 'calcom', version },
      { kind: 'moved', from, uid: webhook.uid, by: 'calcom', version, start: webhook.start },
    ],
  }
}

function rescheduled(webhook: WebhookFacts, target: Target | undefined, waitedOut: boolean): Decision {
  if (!target && webhook.rescheduleUid && waitedOut) return unseenPredecessor(webhook, webhook.rescheduleUid)
  // Row 33: found by its metadata, or (after a stop between its uid claims and its write) by
  // those claims, the appointment's chain still without the booking the move starts from.
  const from = webhook.rescheduleUid
  const unseen = target && from && !linkOf(target.chain, from) && !linkOf(target.chain, webhook.uid)
  if (unseen && waitedOut && webhook.metadataAppointmentId === target.appointment.id) {
    return unseenHop(webhook, target, from)
  }
  if (!target || target.via === 'metadata' || !from) {
    return defer(target?.awaiting ? 'awaiting_sync' : 'unknown_booking')
  }
  const { appointment, chain } = target
  const hop: ChainFact = {
    kind: 'moved',
    from,
    uid: webhook.uid,
    by: 'calcom',
    version: appointment.version + 1,
    start: webhook.start,
  }
  const by = madeBy(chain, hop)
  if (by === 'calsync') return { kind: 'echo', facts: [] }
  if (by === 'calcom') return { kind: 'duplicate', recheck: true, facts: [] }
  if (target.awaiting) return defer('awaiting_sync')
  const previous = linkOf(chain, from)
  if (!previous) return defer('unknown_booking')
  const successor = successorOf(chain, from)
  if (successor) return { kind: 'stale' }
  if (!isUnambiguous(chain)) return defer('chain_gap')
  if (previous.cancelled) {
    return review('conflicting_state', `booking ${from} was rescheduled on Cal.com, but calsync knows it as cancelled`)
  }
  return { kind: 'reschedule', facts: [hop] }
}

/**
 * A cancel of a booking calsync never saw (its CREATED lost) and no appointment of it claims: once
 * its wait is over, that booking is recorded as it ended, cancelled. It holds no slot, and its own
 * CREATED, if it comes after all, finds it and is a duplicate, not a booking of a cancelled slot.
 */
function unseenCancelled(webhook: WebhookFacts): Decision {
  return (
    implausible(webhook) ?? {
      kind: 'create',
      status: 'cancelled',
      facts: [
        { kind: 'booked', uid: webhook.uid, by: 'calcom', version: 1, start: webhook.start },
        { kind: 'cancelled', uid: webhook.uid, by: 'calcom', version: 1 },
      ],
    }
  )
}

function cancelled(webhook: WebhookFacts, target: Target | undefined, waitedOut: boolean): Decision {
  if (!target && waitedOut) return unseenCancelled(webhook)
  if (target?.via !== 'uid') return defer('unknown_booking')
  const { appointment, chain } = target
  const fact: ChainFact = { kind: 'cancelled', uid: webhook.uid, by: 'calcom', version: appointment.version + 1 }
  const by = madeBy(chain, fact)
  if (by === 'calsync') return { kind: 'echo', facts: [] }
  if (by === 'calcom') return { kind: 'duplicate', recheck: false, facts: [] }
  if (target.awaiting) return defer('awaiting_sync')
  if (!linkOf(chain, webhook.uid)) return defer('chain_gap')
  if (successorOf(chain, webhook.uid)) return { kind: 'stale' }
  if (!isUnambiguous(chain)) return defer('chain_gap')
  // Already cancelled here (a local cancel Cal.com never took): only the fact is new.
  if (appointment.status === 'cancelled')
    return { kind: 'duplicate', recheck: false, facts: [{ ...fact, version: appointment.version }] }
  return { kind: 'cancel', facts: [fact] }
}

export function decideWebhook(
  webhook: WebhookFacts,
  target: Target | undefined,
  options: {
    lastChance: boolean
    /** The webhook waited out the grace a booking it names, but calsync never saw, gets to arrive (rows 31–33). */
    waitedOut?: boolean
  },
): Decision {
  const waitedOut = options.lastChance || options.waitedOut === true
  // A cancel names the booking it ends: only a booking recorded from it must look like one (row 32).
  const decision =
    (webhook.trigger === 'BOOKING_CANCELLED' ? undefined : implausible(webhook)) ??
    (webhook.trigger === 'BOOKING_CREATED'
      ? created(webhook, target)
      : webhook.trigger === 'BOOKING_RESCHEDULED'
        ? rescheduled(webhook, target, waitedOut)
        : cancelled(webhook, target, waitedOut))
  // An accepted webhook is applied or reviewed, never dropped (I3): waiting has a bound.
  if (decision.kind === 'defer' && options.lastChance) {
    return review(decision.reason, `waited too long: ${WAIT_MESSAGES[decision.reason]}`)
  }
  return decision
}

const WAIT_MESSAGES: Record<WaitReason, string> = {
  unknown_booking: 'the booking it changes never became known to calsync',
  awaiting_sync: "calsync's own change of the appointment never finished",
  chain_gap: "the appointment's booking chain stayed incomplete",
}
