import { CALSYNC_METADATA } from '@calsync/contracts'
import { type DemoStep, waitForSynced } from '../demo-context.ts'
import { pollFor } from '../poll.ts'
import { showTime } from '../reporter.ts'

/** a. A booking made by the AI phone agent through calsync's API reaches Cal.com. */
export const phoneBookingStep: DemoStep = {
  key: 'a',
  title: 'A phone booking reaches Cal.com',
  async run(context, state) {
    const { tenant, report } = context
    const { appointment, traceId } = await context.appointments.create({
      eventTypeId: tenant.eventType.id,
      start: context.nextSlot(),
      attendee: {
        name: 'Dana Whitfield',
        email: 'dana@example.org',
        timeZone: 'Europe/Berlin',
        phoneNumber: '+4930123456',
      },
      notes: 'booked by phone (calsync demo)',
    })
    report.line(
      `POST /v1/appointments with the ${tenant.origin} token → 201 ${appointment.id} at ${showTime(appointment.start)}`,
    )
    report.line(`x-trace-id ${traceId}: search the stack's logs for it to follow this booking through every service`)
    const booking = await pollFor(
      `the Cal.com booking with ${CALSYNC_METADATA.appointmentId}=${appointment.id} in the sandbox`,
      async () =>
        (await context.sandbox.bookings(tenant.id)).find(
          (candidate) =>
            candidate.metadata[CALSYNC_METADATA.appointmentId] === appointment.id && candidate.status === 'accepted',
        ),
      context.config.waitMs,
    )
    report.line(
      `Cal.com holds booking ${booking.uid} at ${showTime(booking.start)} for "${booking.attendees[0]?.name}"`,
    )
    const synced = await waitForSynced(context, appointment.id, 'the phone booking')
    report.line(
      `calsync: sync ${synced.status} after ${synced.attempts} attempt(s), calcomBookingUid ${synced.calcomBookingUid}`,
    )
    report.look(context.sandbox.bookingsUrl(tenant.id))
    report.look(`${context.config.appointmentsUrl}/v1/appointments/${appointment.id}/sync-status`)
    state.phoneAppointment = await context.appointments.get(appointment.id)
  },
}
