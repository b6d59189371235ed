import { randomBytes } from 'node:crypto'
import type { AppointmentEventType, AppointmentSnapshot, Attendee, EventTypeMapping, Origin } from '@calsync/contracts'
import { sha256Hex } from '@calsync/service-kit'

const MINUTE = 60_000

export type { AppointmentSnapshot }

/** Who or what made a change: the channel, and the token (by digest prefix) or webhook delivery. */
export interface Initiator {
  origin: Origin
  /** e.g. `token:3f2a9c1d` or `webhook:<deliveryId>` */
  via: string
}

export function newAppointmentId(): string {
  return `apt_${randomBytes(12).toString('base64url')}`
}

/** A create under an Idempotency-Key gets a deterministic id, so a retry after a lost answer finds it. */
export function appointmentIdForKey(tenantId: string, key: string): string {
  return `apt_k${sha256Hex(`${tenantId}\n${key}`).slice(0, 24)}`
}

/** Cal.com bookings get a deterministic id, so a redelivered webhook can only create it once. */
export function appointmentIdForBooking(tenantId: string, bookingUid: string): string {
  return `apt_c${sha256Hex(`${tenantId}\n${bookingUid}`).slice(0, 24)}`
}

/** Slot exclusivity is decided per whole minute, so times must sit on minute boundaries. */
export function isMinuteAligned(time: Date): boolean {
  return time.getTime() % MINUTE === 0
}

export function endOf(start: Date, eventType: EventTypeMapping): Date {
  return new Date(start.getTime() + eventType.lengthMinutes * MINUTE)
}

/** No appointment lasts longer: event types are at most a day, and Cal.com's longer bookings go to review. */
export const MAX_APPOINTMENT_MS = 24 * 60 * MINUTE

/**
 * The minutes [start, end) occupies; Cal.com times are rounded outwards to whole minutes. Throws
 * (the message is retried, then reviewed) rather than enumerate a span longer than a day: memory
 * proportional to what a webhook says would let one delivery stop the service for every tenant.
 */
export function minutesOf(start: string, end: string): string[] {
  const first = Math.floor(Date.parse(start) / MINUTE) * MINUTE
  const last = Math.ceil(Date.parse(end) / MINUTE) * MINUTE
  if (!(last - first <= MAX_APPOINTMENT_MS + MINUTE)) {
    throw new Error(`an appointment from ${start} to ${end} spans more than a day; its minutes are not enumerated`)
  }
  const minutes: string[] = []
  for (let at = first; at < last; at += MINUTE) minutes.push(new Date(at).toISOString().slice(0, 16))
  return minutes
}

export function toIso(time: Date): string {
  return time.toISOString()
}

export interface NewAppointment {
  id: string
  tenantId: string
  eventType: EventTypeMapping
  start: Date
  end: Date
  origin: Origin
  attendee: Attendee
  notes?: string | undefined
  calcomBookingUid: string | null
  now: Date
}

export function firstSnapshot(input: NewAppointment): AppointmentSnapshot {
  const now = toIso(input.now)
  return {
    id: input.id,
    tenantId: input.tenantId,
    eventTypeId: input.eventType.id,
    resource: input.eventType.resource,
    start: toIso(input.start),
    end: toIso(input.end),
    status: 'booked',
    origin: input.origin,
    version: 1,
    attendee: input.attendee,
    ...(input.notes === undefined ? {} : { notes: input.notes }),
    calcomBookingUid: input.calcomBookingUid,
    createdAt: now,
    updatedAt: now,
  }
}

/** The next version of an appointment: one change, one version (the event type names the change). */
export function nextSnapshot(
  current: AppointmentSnapshot,
  change: Partial<Pick<AppointmentSnapshot, 'start' | 'end' | 'status' | 'calcomBookingUid' | 'awaiting'>>,
  origin: Origin,
  now: Date,
): AppointmentSnapshot {
  const { awaiting: _was, ...rest } = current
  // What Cal.com waited for is the change's to say; a change that does not say ends it.
  const awaiting =
    'awaiting' in change
      ? change.awaiting
      : change.status === undefined && change.start === undefined
        ? current.awaiting
        : undefined
  const { awaiting: _said, ...fields } = change
  return {
    ...rest,
    ...fields,
    ...(awaiting ? { awaiting } : {}),
    origin,
    version: current.version + 1,
    updatedAt: toIso(now),
  }
}

export function changeTypeOf(
  previous: AppointmentSnapshot | undefined,
  next: AppointmentSnapshot,
): AppointmentEventType {
  // A booking calsync learns of only by its cancel is born cancelled (webhook decision row 32).
  if (!previous) return next.status === 'cancelled' ? 'appointment.cancelled' : 'appointment.booked'
  if (next.status === 'cancelled' && previous.status !== 'cancelled') return 'appointment.cancelled'
  return 'appointment.rescheduled'
}
