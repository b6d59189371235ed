import { bookingTitleOf, eventTitleOf, eventTypeSlugOf, hostOf } from './booking-presentation.ts'
import type { Attendee, Booking } from './sandbox-store.ts'

export type WebhookTrigger = 'BOOKING_CREATED' | 'BOOKING_CANCELLED' | 'BOOKING_RESCHEDULED'

export interface WebhookEvent {
  trigger: WebhookTrigger
  /** The booking as it is now; for a reschedule, the new one. */
  booking: Booking
  /** For a reschedule: the booking it replaced. */
  previous?: Booking
}

/** Webhook times are UTC without milliseconds, e.g. 2025-06-10T14:00:00Z (calcom/README.md §4.4). */
export const webhookTime = (iso: string) => new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** Minutes east of UTC in that zone at that instant, as Cal.com's `utcOffset`. */
export function utcOffsetOf(timeZone: string, at: string): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    .formatToParts(new Date(at))
    .find((part) => part.type === 'timeZoneName')?.value
  const match = name?.match(/GMT([+-])(\d{2}):(\d{2})/)
  if (!match) return 0
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]))
}

/**
 * The default (no template) body Cal.com POSTs for a booking trigger, version 2021-10-20
 * (calcom/README.md §4.3–§5). `createdAt` is the moment of dispatch.
 */
export function webhookBody(event: WebhookEvent, createdAt: Date) {
  const { trigger, booking, previous } = event
  const host = hostOf(booking.resource)
  const lengthMinutes = (Date.parse(booking.end) - Date.parse(booking.start)) / 60_000
  const booker = booking.attendees[0]
  // Guests follow the booker as attendees without a name (calcom/README.md §4.4).
  const guests = booking.guests.map((email) => ({
    name: '',
    email,
    timeZone: booker?.timeZone ?? 'UTC',
    language: 'en',
  }))
  const responses: Record<string, unknown> = {
    name: { label: 'your_name', value: booker?.name },
    email: { label: 'email_address', value: booker?.email },
    guests: { label: 'additional_guests', value: booking.guests },
  }
  if (trigger === 'BOOKING_RESCHEDULED' && booking.reschedulingReason) {
    responses.rescheduleReason = { label: 'reschedule_reason', value: booking.reschedulingReason }
  }
  const payload: Record<string, unknown> = {
    type: eventTypeSlugOf(booking.eventTypeId),
    title: bookingTitleOf(booking),
    description: '',
    additionalNotes: '',
    customInputs: {},
    startTime: webhookTime(booking.start),
    endTime: webhookTime(booking.end),
    organizer: {
      id: host.id,
      name: host.name,
      email: host.email,
      username: host.username,
      timeZone: host.timeZone,
      timeFormat: 'h:mma',
      language: { locale: 'en' },
      utcOffset: utcOffsetOf(host.timeZone, booking.start),
    },
    responses,
    userFieldsResponses: {},
    attendees: [...booking.attendees, ...guests].map((attendee: Attendee) => {
      const [firstName = '', ...rest] = attendee.name.split(' ')
      return {
        name: attendee.name,
        email: attendee.email,
        timeZone: attendee.timeZone,
        language: { locale: attendee.language },
        utcOffset: utcOffsetOf(attendee.timeZone, booking.start),
        ...(attendee.phoneNumber ? { phoneNumber: attendee.phoneNumber } : {}),
        firstName,
        lastName: rest.join(' '),
      }
    }),
    location: booking.location ?? '',
    destinationCalendar: null,
    hideCalendarNotes: false,
    requiresConfirmation: null,
    eventTypeId: booking.eventTypeId,
    seatsShowAttendees: true,
    seatsPerTimeSlot: null,
    uid: booking.uid,
    iCalUID: `${booking.uid}@Cal.com`,
    eventTitle: eventTitleOf(lengthMinutes),
    eventDescription: '',
    price: 0,
    currency: 'usd',
    length: lengthMinutes,
    bookingId: booking.id,
    status: booking.status === 'cancelled' ? 'CANCELLED' : 'ACCEPTED',
  }
  // Cancellations carry no metadata at all (calcom/README.md §2.6): clients must match on uid.
  if (trigger !== 'BOOKING_CANCELLED') payload.metadata = { ...booking.metadata }
  if (trigger === 'BOOKING_CANCELLED') {
    payload.cancellationReason = booking.cancellationReason
    payload.cancelledBy = host.email
    payload.requestReschedule = false
  }
  if (trigger === 'BOOKING_RESCHEDULED' && previous) {
    payload.rescheduleUid = previous.uid
    payload.rescheduleId = previous.id
    payload.rescheduleStartTime = webhookTime(previous.start)
    payload.rescheduleEndTime = webhookTime(previous.end)
    if (booking.rescheduledByEmail) payload.rescheduledBy = booking.rescheduledByEmail
  }
  return { triggerEvent: trigger, createdAt: createdAt.toISOString(), payload }
}
