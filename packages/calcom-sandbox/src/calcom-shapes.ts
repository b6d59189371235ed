import type { Booking, SandboxTenant } from './sandbox-store.ts'

/** Cal.com's error envelope (calcom/README.md §3.1). */
export function errorEnvelope(path: string, code: string, message: string) {
  return { status: 'error', timestamp: new Date().toISOString(), path, error: { code, message } }
}

/** BookingOutput_2024_08_13 plus the newer fields calsync reads (calcom/README.md §2.7). */
export function bookingOutput(booking: Booking, tenant: SandboxTenant) {
  const eventType = tenant.eventTypes.find((candidate) => candidate.id === booking.eventTypeId)
  return {
    id: booking.id,
    uid: booking.uid,
    title: `Appointment with ${booking.attendees[0]?.name ?? 'guest'}`,
    status: booking.status,
    cancellationReason: booking.cancellationReason,
    reschedulingReason: booking.reschedulingReason,
    rescheduledFromUid: booking.rescheduledFromUid,
    rescheduledToUid: booking.rescheduledToUid,
    start: booking.start,
    end: booking.end,
    duration: eventType?.lengthMinutes ?? (Date.parse(booking.end) - Date.parse(booking.start)) / 60_000,
    eventTypeId: booking.eventTypeId,
    eventType: { id: booking.eventTypeId, slug: `event-${booking.eventTypeId}` },
    attendees: booking.attendees,
    guests: [],
    metadata: booking.metadata,
    hosts: [{ id: 1, name: booking.resource, email: `${booking.resource}@sandbox.invalid`, timeZone: 'UTC' }],
    createdAt: booking.createdAt,
    updatedAt: booking.updatedAt,
  }
}

/** Webhook times are UTC without milliseconds, e.g. 2025-06-10T14:00:00Z (calcom/README.md §4.4). */
const webhookTime = (iso: string) => new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z')

export type WebhookTrigger = 'BOOKING_CREATED' | 'BOOKING_CANCELLED' | 'BOOKING_RESCHEDULED'

/** The default (no template) webhook body Cal.com sends (calcom/README.md §4.3–§5). */
export function webhookBody(trigger: WebhookTrigger, booking: Booking, previous?: Booking) {
  const payload: Record<string, unknown> = {
    type: `event-${booking.eventTypeId}`,
    title: `Appointment with ${booking.attendees[0]?.name ?? 'guest'}`,
    description: '',
    additionalNotes: '',
    customInputs: {},
    startTime: webhookTime(booking.start),
    endTime: webhookTime(booking.end),
    organizer: { id: 1, name: booking.resource, email: `${booking.resource}@sandbox.invalid`, timeZone: 'UTC' },
    attendees: booking.attendees.map((attendee) => ({ ...attendee, language: { locale: attendee.language } })),
    uid: booking.uid,
    bookingId: booking.id,
    eventTypeId: booking.eventTypeId,
    length: (Date.parse(booking.end) - Date.parse(booking.start)) / 60_000,
    status: booking.status === 'cancelled' ? 'CANCELLED' : 'ACCEPTED',
  }
  // Cancellations carry no metadata (calcom/README.md §2.6).
  if (trigger !== 'BOOKING_CANCELLED') payload.metadata = { ...booking.metadata }
  if (trigger === 'BOOKING_CANCELLED') payload.cancellationReason = booking.cancellationReason
  if (trigger === 'BOOKING_RESCHEDULED' && previous) {
    payload.rescheduleUid = previous.uid
    payload.rescheduleId = previous.id
    payload.rescheduleStartTime = webhookTime(previous.start)
    payload.rescheduleEndTime = webhookTime(previous.end)
  }
  return { triggerEvent: trigger, createdAt: new Date().toISOString(), payload }
}
