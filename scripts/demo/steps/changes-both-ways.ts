import { CALSYNC_METADATA } from '@calsync/contracts'
import { type DemoContext, type DemoStep, requireState, sameInstant, waitForSynced } from '../demo-context.ts'
import { pollFor } from '../poll.ts'
import { showTime } from '../reporter.ts'
import type { AppointmentView } from '../stack-clients.ts'

/** Polls calsync's view of an appointment until `holds` says it took Cal.com's change. */
function waitForAppointment(context: DemoContext, id: string, what: string, holds: (view: AppointmentView) => boolean) {
  return pollFor(
    what,
    async () => {
      const view = await context.appointments.get(id)
      return holds(view) ? view : undefined
    },
    context.config.waitMs,
  )
}

/** c. Cancel and reschedule both ways: calsync's changes move Cal.com, Cal.com's move calsync. */
export const changesBothWaysStep: DemoStep = {
  key: 'c',
  title: 'Cancel and reschedule, both ways',
  async run(context, state) {
    const { tenant, report, sandbox } = context
    const phone = requireState(state.phoneAppointment, 'the phone booking of step a')
    const fromCalcom = requireState(state.calcomAppointment, 'the Cal.com booking of step b')
    const oursOn = async (id: string) =>
      (await sandbox.bookings(tenant.id)).filter((booking) => booking.metadata[CALSYNC_METADATA.appointmentId] === id)

    // calsync → Cal.com: reschedule, then cancel, through the appointments API.
    const newStart = context.nextSlot()
    const moved = await context.appointments.reschedule(phone.id, newStart)
    report.line(`POST /v1/appointments/${phone.id}/reschedule → ${showTime(moved.start)}, version ${moved.version}`)
    const movedBooking = await pollFor(
      `Cal.com to move the booking of ${phone.id} to ${showTime(newStart)}`,
      async () =>
        (await oursOn(phone.id)).find(
          (booking) => booking.status === 'accepted' && sameInstant(booking.start, newStart),
        ),
      context.config.waitMs,
    )
    report.line(
      `Cal.com: ${phone.calcomBookingUid} was rescheduled to ${movedBooking.uid} (${showTime(movedBooking.start)})`,
    )
    await waitForSynced(context, phone.id, 'the local reschedule')

    await context.appointments.cancel(phone.id, 'patient called to cancel (calsync demo)')
    report.line(`POST /v1/appointments/${phone.id}/cancel → cancelled`)
    await pollFor(
      `Cal.com to cancel booking ${movedBooking.uid}`,
      async () =>
        (await oursOn(phone.id)).find((booking) => booking.uid === movedBooking.uid && booking.status === 'cancelled'),
      context.config.waitMs,
    )
    report.line(`Cal.com: booking ${movedBooking.uid} is cancelled`)
    await waitForSynced(context, phone.id, 'the local cancel')

    // Cal.com → calsync: reschedule, then cancel, as a Cal.com user does on Cal.com.
    const calcomStart = context.nextSlot()
    const uid = requireState(fromCalcom.calcomBookingUid ?? undefined, 'the Cal.com booking uid of step b')
    const rescheduled = await context.calcom.reschedule(uid, calcomStart)
    report.line(`Cal.com: ${uid} rescheduled to ${rescheduled.uid} (${showTime(rescheduled.start)})`)
    const followed = await waitForAppointment(
      context,
      fromCalcom.id,
      `calsync to move ${fromCalcom.id} to ${showTime(calcomStart)}`,
      (view) =>
        view.status === 'booked' && sameInstant(view.start, calcomStart) && view.calcomBookingUid === rescheduled.uid,
    )
    report.line(`calsync: ${followed.id} now at ${showTime(followed.start)}, version ${followed.version}`)

    await context.calcom.cancel(rescheduled.uid)
    report.line(`Cal.com: ${rescheduled.uid} cancelled`)
    const cancelled = await waitForAppointment(
      context,
      fromCalcom.id,
      `calsync to cancel ${fromCalcom.id}`,
      (view) => view.status === 'cancelled',
    )
    report.line(`calsync: ${cancelled.id} is ${cancelled.status}, version ${cancelled.version}`)
    report.look(`${context.config.appointmentsUrl}/v1/appointments?status=cancelled`)
  },
}
