// Defects 1 and 6: calcom-sync must act on the Cal.com booking the appointment really has — the
// snapshot's uid, and what the customer did to it on Cal.com — never on a guess that makes a
// second booking, resurrects a cancelled one or leaves a rescheduled successor active.
import { describe, expect, it } from 'vitest'
import { eventually } from '../../../../test/support/infra.ts'
import { type Stack, startStack } from '../../../../test/support/stack.ts'
import { futureSlot } from '../../../../test/support/tenants.ts'
import {
  ACME,
  ADMIN,
  accepted,
  acmeWebhooks,
  bookingsOf,
  calcomSyncSettled,
  createAppointment,
  createRequests,
  customerBooks,
  customerCancels,
  customerMoves,
  describeBookings,
  eventsOf,
  perTest,
  publishEvent,
  RESCHEDULE_PATH,
  settled,
  staff,
  untilSynced,
} from './support.ts'

describe('calcom-sync works on the booking the appointment has on Cal.com', () => {
  const held = perTest()

  /** A customer books on Cal.com; the appointments service adopts it from the webhook (v1, origin calcom). */
  async function customerBooking(s: Stack, start: string) {
    const { uid } = await customerBooks(s, start)
    const appointment = await eventually('the customer booking to be adopted', async () => {
      await s.sandbox.flushWebhooks()
      const items = (await s.appointments.api(ADMIN, 'GET', '/v1/appointments?limit=200')).json().items as Array<{
        id: string
        calcomBookingUid: string | null
        origin: string
      }>
      return items.find((item) => item.calcomBookingUid === uid)
    })
    expect(appointment.origin).toBe('calcom')
    return { uid, id: appointment.id }
  }

  /**
   * Puts the appointment's events back in the stream one at a time in the given order (v2 before
   * v1), with calcom-sync running: each is handled before the next is published (a worker that
   * chose to hold v2 back until v1 came is given v1 after a few seconds).
   */
  async function deliverInOrder(s: Stack, id: string, versions: number[]) {
    const events = await eventsOf(s, id, Math.max(...versions))
    await s.appointments.jsm.streams.purge(s.names.streams.appointments)
    await s.startSync()
    for (const version of versions) {
      const event = events.find((candidate) => candidate.version === version)
      if (!event) throw new Error(`no event v${version}`)
      await publishEvent(s, event)
      await calcomSyncSettled(s, 8000).catch(() => undefined)
    }
  }

  it('defect 1: a staff move handled before the customer booking is adopted moves that booking (one active booking)', async () => {
    // Customer books U1 at T1 on Cal.com, staff move it to T2 at once; calcom-sync sees v2 before v1.
    const s = await startStack({ startSync: false })
    held.stack = s
    const [t1, t2] = [futureSlot(0, 9), futureSlot(0, 13)]
    const { uid, id } = await customerBooking(s, t1)
    await staff(s, id, 'reschedule', t2)
    await deliverInOrder(s, id, [2, 1])

    await untilSynced(s, id, 2)
    await settled(s)
    const active = accepted(s.sandbox.bookings(ACME))
    expect(describeBookings(active), 'active bookings on Cal.com').toEqual([expect.stringMatching(`@${t2} accepted$`)])
    // U1 itself was moved (Cal.com's reschedule), not left behind next to a new booking.
    expect(s.sandbox.bookings(ACME).find((booking) => booking.uid === uid)).toMatchObject({
      status: 'cancelled',
      rescheduledToUid: active[0]?.uid,
    })
    expect(createRequests(s), 'create requests (the customer’s own only)').toHaveLength(1)
  }, 60_000)

  it('defect 1: a staff cancel handled before the customer booking is adopted cancels that booking', async () => {
    // Customer books U1 on Cal.com, staff cancel it at once; calcom-sync sees the cancel (v2) before v1.
    const s = await startStack({ startSync: false })
    held.stack = s
    const { uid, id } = await customerBooking(s, futureSlot(1, 9))
    await staff(s, id, 'cancel')
    await deliverInOrder(s, id, [2, 1])

    await untilSynced(s, id, 2)
    await settled(s)
    expect(describeBookings(accepted(s.sandbox.bookings(ACME))), 'active bookings on Cal.com').toEqual([])
    expect(s.sandbox.bookings(ACME).find((booking) => booking.uid === uid)?.status).toBe('cancelled')
  }, 60_000)

  it('defect 6: a lost reschedule answer whose new booking the customer then cancelled never makes a new booking', async () => {
    // Staff move U1 to T2; Cal.com commits (U2) but the answer is lost; the customer cancels U2 before the retry.
    const s = await startStack({ backoffMs: [2000, 2000, 2000] })
    held.stack = s
    const [t1, t2] = [futureSlot(2, 9), futureSlot(2, 13)]
    const { id } = await createAppointment(s, t1)
    const first = await untilSynced(s, id, 1)
    await settled(s)

    s.sandbox.addFault({ method: 'POST', path: RESCHEDULE_PATH }, { commitThenDrop: true }, 1)
    await staff(s, id, 'reschedule', t2)
    const successor = await eventually('Cal.com to commit the move', async () =>
      s.sandbox.bookings(ACME).find((booking) => booking.rescheduledFromUid === first.calcomBookingUid),
    )
    await customerCancels(s, successor.uid)

    // The retry of v2 is over once calcom-sync has nothing left to deliver (the appointments
    // service may still be holding the customer's webhooks back, waiting for the chain).
    await calcomSyncSettled(s)
    const ours = bookingsOf(s, id)
    expect(createRequests(s), 'create requests (v1 only)').toHaveLength(1)
    expect(describeBookings(accepted(ours)), 'active bookings of the appointment').toEqual([])
  }, 60_000)

  it('defect 6: a staff cancel of a booking the customer had rescheduled cancels the successor too', async () => {
    // U1 synced; the customer moves U1 → U2 on Cal.com (calsync not told yet); staff cancel with the snapshot at U1.
    const s = await startStack()
    held.stack = s
    const { id } = await createAppointment(s, futureSlot(3, 9))
    const first = await untilSynced(s, id, 1)
    await settled(s)
    acmeWebhooks(s, false)
    const moved = await customerMoves(s, first.calcomBookingUid ?? '', futureSlot(3, 13))

    await staff(s, id, 'cancel')
    await eventually('the cancel to be handled', async () => {
      const status = (await s.appointments.api(ADMIN, 'GET', `/v1/appointments/${id}/sync-status`)).json()
      return status.version === 2 && status.status !== 'pending' ? status : undefined
    })
    await settled(s)
    expect(
      s.sandbox.bookings(ACME).find((booking) => booking.uid === moved.uid)?.status,
      `successor ${moved.uid}`,
    ).toBe('cancelled')
    expect(describeBookings(accepted(bookingsOf(s, id))), 'active bookings of the appointment').toEqual([])
  }, 60_000)
})
