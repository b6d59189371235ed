import { type DemoStep, waitForDelivery } from '../demo-context.ts'
import { DemoError } from '../demo-error.ts'
import { pollFor } from '../poll.ts'
import { showTime } from '../reporter.ts'

/** b. A booking made on Cal.com (its webhook signed and sent to the gateway) reaches calsync. */
export const calcomBookingStep: DemoStep = {
  key: 'b',
  title: 'A Cal.com booking reaches calsync',
  async run(context, state) {
    const { tenant, report } = context
    const start = context.nextSlot()
    const booking = await context.calcom.book({
      eventTypeId: tenant.eventType.id,
      start,
      attendee: { name: 'Jonas Berg', email: 'jonas@example.org', timeZone: 'Europe/Oslo' },
    })
    report.line(
      `POST ${context.config.sandboxUrl}/v2/bookings with ${tenant.id}'s Cal.com API key → 201 ${booking.uid} at ${showTime(booking.start)}`,
    )
    const delivery = await waitForDelivery(context, booking.uid, 'BOOKING_CREATED')
    if (!delivery.ok) {
      throw new DemoError(
        `the gateway did not take the signed BOOKING_CREATED webhook (${delivery.status ?? delivery.error}) at ${delivery.url}`,
      )
    }
    report.line(`Cal.com sent the signed BOOKING_CREATED webhook to ${delivery.url} → ${delivery.status}`)
    const to = new Date(Date.parse(start) + 60_000).toISOString()
    const appointment = await pollFor(
      `an appointment for Cal.com booking ${booking.uid} in GET /v1/appointments`,
      async () =>
        (await context.appointments.list({ from: start, to })).find(
          (candidate) => candidate.calcomBookingUid === booking.uid,
        ),
      context.config.waitMs,
    )
    if (appointment.origin !== 'calcom') {
      throw new DemoError(`appointment ${appointment.id} has origin ${appointment.origin}, expected calcom`)
    }
    report.line(
      `GET /v1/appointments lists ${appointment.id}: origin ${appointment.origin}, ${appointment.status}, version ${appointment.version}`,
    )
    report.look(`${context.config.appointmentsUrl}/v1/appointments/${appointment.id}`)
    state.calcomAppointment = appointment
  },
}
