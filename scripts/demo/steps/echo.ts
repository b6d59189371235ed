import { type DemoStep, waitForDelivery, waitForSynced } from '../demo-context.ts'
import { DemoError } from '../demo-error.ts'
import { pollFor } from '../poll.ts'
import { readCounter } from '../stack-clients.ts'

const PROCESSED = 'calsync_calcom_webhooks_processed_total'
const ECHOES = { trigger: 'BOOKING_CANCELLED', result: 'echo' }
const SERIES = `${PROCESSED}{trigger="${ECHOES.trigger}",result="${ECHOES.result}"}`

/**
 * d. Loop prevention: calsync cancels a booking on Cal.com, Cal.com sends BOOKING_CANCELLED back,
 * and calsync recognises its own change in it: nothing changes, nothing goes back to Cal.com.
 */
export const echoStep: DemoStep = {
  key: 'd',
  title: "Cal.com's echo of calsync's own change changes nothing",
  async run(context) {
    const { tenant, report, config } = context
    const { appointment } = await context.appointments.create({
      eventTypeId: tenant.eventType.id,
      start: context.nextSlot(),
      attendee: { name: 'Priya Natarajan', email: 'priya@example.org', timeZone: 'Asia/Kolkata' },
    })
    const booked = await waitForSynced(context, appointment.id, 'the new booking')
    const uid = booked.calcomBookingUid as string
    report.line(`POST /v1/appointments → ${appointment.id}, synced to Cal.com booking ${uid}`)

    const echoesBefore = await readCounter(config.appointmentsUrl, PROCESSED, ECHOES)
    const cancelled = await context.appointments.cancel(appointment.id, 'calsync demo: echo')
    report.line(`POST /v1/appointments/${appointment.id}/cancel → version ${cancelled.version}`)
    await waitForSynced(context, appointment.id, 'the cancel')
    const delivery = await waitForDelivery(context, uid, 'BOOKING_CANCELLED')
    if (!delivery.ok)
      throw new DemoError(`the gateway did not take the echo webhook: ${delivery.status ?? delivery.error}`)
    report.line(`calcom-sync cancelled ${uid}; Cal.com sent BOOKING_CANCELLED back to the gateway → ${delivery.status}`)

    if (echoesBefore === undefined) {
      report.line(`(${config.appointmentsUrl}/metrics is not served by this stack: checking the version only)`)
    } else {
      const echoesAfter = await pollFor(
        `${SERIES} to count the echo`,
        async () => {
          const value = await readCounter(config.appointmentsUrl, PROCESSED, ECHOES)
          return value !== undefined && value > echoesBefore ? value : undefined
        },
        config.waitMs,
      )
      report.line(`${SERIES}: ${echoesBefore} → ${echoesAfter}`)
    }
    const after = await context.appointments.get(appointment.id)
    if (after.version !== cancelled.version || after.status !== 'cancelled') {
      throw new DemoError(
        `the echo changed ${appointment.id}: version ${cancelled.version} → ${after.version}, status ${after.status}`,
      )
    }
    report.line(`${appointment.id} is still version ${after.version}: calsync knew the change as its own`)
    report.look(`${config.appointmentsUrl}/metrics (${PROCESSED})`)
  },
}
