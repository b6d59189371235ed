import { createHmac } from 'node:crypto'
import type { BookingTrigger, CalcomBookingWebhook } from '@calsync/contracts'
import { EVENT_TYPE_MINUTES } from './tenants.ts'

export interface BookingFixture {
  uid: string
  eventTypeId: number
  start: string
  lengthMinutes?: number
  metadata?: Record<string, unknown>
  rescheduleUid?: string
  attendeeEmail?: string
  createdAt?: string
}

/** A webhook body shaped like Cal.com's (calcom/README.md §5), trimmed to a realistic core. */
export function bookingWebhook(trigger: BookingTrigger, fixture: BookingFixture): CalcomBookingWebhook {
  const start = new Date(fixture.start)
  const minutes = fixture.lengthMinutes ?? EVENT_TYPE_MINUTES[fixture.eventTypeId] ?? 30
  const end = new Date(start.getTime() + minutes * 60_000)
  const iso = (date: Date) => date.toISOString().replace('.000Z', 'Z')
  // Cal.com sends many more fields than the schema requires; keep some to prove they are tolerated.
  const payload: Record<string, unknown> = {
    type: 'checkup',
    title: 'Checkup between Dr Jones and Marco Lind',
    uid: fixture.uid,
    bookingId: Math.floor(Math.random() * 1_000_000),
    eventTypeId: fixture.eventTypeId,
    startTime: iso(start),
    endTime: iso(end),
    organizer: { id: 1, name: 'Dr Jones', email: 'jones@clinic.example', timeZone: 'Europe/Berlin' },
    attendees: [
      { name: 'Marco Lind', email: fixture.attendeeEmail ?? 'marco@example.org', timeZone: 'Europe/Stockholm' },
    ],
    ...(fixture.metadata ? { metadata: fixture.metadata } : {}),
    ...(fixture.rescheduleUid ? { rescheduleUid: fixture.rescheduleUid } : {}),
    ...(trigger === 'BOOKING_CANCELLED'
      ? { cancellationReason: 'changed plans', status: 'CANCELLED' }
      : { status: 'ACCEPTED' }),
  }
  return {
    triggerEvent: trigger,
    createdAt: fixture.createdAt ?? new Date().toISOString(),
    payload,
  } as CalcomBookingWebhook
}

/** Exactly how Cal.com signs: lower-case hex HMAC-SHA256 of the body string as sent. */
export function signCalcom(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex')
}
