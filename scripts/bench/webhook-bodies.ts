// Signed BOOKING_CREATED deliveries for the gateway benchmark, shaped like Cal.com's default
// body (calcom/README.md §5, §8: about 2 kB), one booking uid each so every one is new.
import { createHmac } from 'node:crypto'
import type { RunTenant } from '../lib/run-tenants.ts'

export interface SignedDelivery {
  path: string
  headers: Record<string, string>
  body: string
}

/** The n-th delivery: tenants in turn, a fresh uid, `createdAt` now (inside the replay window). */
export function signedDelivery(tenants: RunTenant[], n: number, runId: string): SignedDelivery {
  const tenant = tenants[n % tenants.length] as RunTenant
  const eventType = tenant.eventTypes[0] as RunTenant['eventTypes'][number]
  const start = new Date(Date.UTC(2031, 0, 1, 9) + (n % 5000) * 30 * 60_000)
  const end = new Date(start.getTime() + eventType.minutes * 60_000)
  const time = (date: Date) => date.toISOString().replace('.000Z', 'Z')
  const attendee = { name: `Patient ${n}`, email: `patient-${n}@example.org`, timeZone: 'Europe/Berlin' }
  const body = JSON.stringify({
    triggerEvent: 'BOOKING_CREATED',
    createdAt: new Date().toISOString(),
    payload: {
      type: 'checkup',
      title: `Checkup between ${eventType.resource} and ${attendee.name}`,
      description: '',
      additionalNotes: '',
      customInputs: {},
      startTime: time(start),
      endTime: time(end),
      organizer: {
        id: 7,
        name: eventType.resource,
        email: `${eventType.resource}@clinic.example`,
        username: eventType.resource,
        timeZone: 'Europe/Berlin',
        language: { locale: 'en' },
        timeFormat: 'h:mma',
        utcOffset: 60,
      },
      responses: {
        name: { label: 'your_name', value: attendee.name },
        email: { label: 'email_address', value: attendee.email },
        location: { label: 'location', value: { optionValue: '', value: 'integrations:daily' } },
        notes: { label: 'additional_notes' },
        guests: { label: 'additional_guests', value: [] },
      },
      userFieldsResponses: {},
      attendees: [{ ...attendee, language: { locale: 'en' }, utcOffset: 60 }],
      location: 'integrations:daily',
      destinationCalendar: null,
      hideCalendarNotes: false,
      requiresConfirmation: false,
      eventTypeId: eventType.id,
      seatsShowAttendees: true,
      seatsPerTimeSlot: null,
      seatsShowAvailabilityCount: true,
      schedulingType: null,
      iCalUID: `bench-${runId}-${n}@Cal.com`,
      iCalSequence: 0,
      uid: `bench-${runId}-${n}`,
      conferenceData: { createRequest: { requestId: `bench-${runId}-${n}` } },
      videoCallData: { type: 'daily_video', id: `room-${n}`, password: '', url: `https://meet.example/${n}` },
      appsStatus: [],
      eventTitle: 'Checkup',
      eventDescription: null,
      price: 0,
      currency: 'usd',
      length: eventType.minutes,
      bookingId: 100_000 + n,
      metadata: { videoCallUrl: `https://meet.example/${n}` },
      status: 'ACCEPTED',
    },
  })
  const signature = createHmac('sha256', tenant.webhookSecret).update(body).digest('hex')
  return {
    path: `/webhooks/calcom/${tenant.id}`,
    headers: {
      'content-type': 'application/json',
      'x-cal-signature-256': signature,
      'x-cal-webhook-version': '2021-10-20',
    },
    body,
  }
}
