import { bookingTitleOf, eventTypeSlugOf, hostOf } from './booking-presentation.ts'
import type { Booking } from './sandbox-store.ts'

/** `BookingOutput_2024_08_13` plus the newer fields of `output.service.ts` (calcom/README.md §2.7). */
export function bookingOutput(booking: Booking) {
  const host = hostOf(booking.resource)
  return {
    id: booking.id,
    uid: booking.uid,
    title: bookingTitleOf(booking),
    description: '',
    status: booking.status,
    cancellationReason: booking.cancellationReason,
    reschedulingReason: booking.reschedulingReason,
    rescheduledFromUid: booking.rescheduledFromUid,
    rescheduledToUid: booking.rescheduledToUid,
    rescheduledByEmail: booking.rescheduledByEmail,
    start: booking.start,
    end: booking.end,
    duration: (Date.parse(booking.end) - Date.parse(booking.start)) / 60_000,
    eventTypeId: booking.eventTypeId,
    eventType: { id: booking.eventTypeId, slug: eventTypeSlugOf(booking.eventTypeId) },
    location: booking.location,
    attendees: booking.attendees.map((attendee) => ({ ...attendee, absent: false })),
    guests: [...booking.guests],
    bookingFieldsResponses: {
      name: booking.attendees[0]?.name,
      email: booking.attendees[0]?.email,
      ...booking.bookingFieldsResponses,
    },
    metadata: { ...booking.metadata },
    hosts: [{ id: host.id, name: host.name, email: host.email, username: host.username, timeZone: host.timeZone }],
    absentHost: false,
    createdAt: booking.createdAt,
    updatedAt: booking.updatedAt,
  }
}

export type BookingOutput = ReturnType<typeof bookingOutput>
