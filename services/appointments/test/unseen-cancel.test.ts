// A Cal.com cancel of a booking calsync never saw (its BOOKING_CREATED lost, or still on its way):
// once its wait is over the booking is recorded as it ended, cancelled, so its own CREATED, in any
// order and however late, books nothing on a slot Cal.com has freed.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bookingWebhook } from '../../../test/support/calcom-webhooks.ts'
import { eventually } from '../../../test/support/infra.ts'
import { ACME, futureSlot } from '../../../test/support/tenants.ts'
import { appointmentIdForBooking } from '../src/appointments/appointment.ts'
import { ADMIN, useUnseenBookingSuite } from './support/scenario.ts'

describe('a cancel of a booking calsync never saw', () => {
  // No grace: a cancel that arrives first is recorded at once, the ordering the grace makes rare.
  const suite = useUnseenBookingSuite(0)

  const unapplied = async (prefix: string) =>
    (await suite.s.reviewsOf('unapplied_webhook')).filter((item) => String(item.detail.bookingUid).startsWith(prefix))

  it('is recorded as that booking, cancelled, with its story; its late CREATED books nothing', async () => {
    const start = futureSlot(50, 9)
    await suite.s.webhook('BOOKING_CANCELLED', { uid: 'unseen-cancel-a', start })
    const recorded = await eventually('the cancelled booking', () => suite.s.byUid('unseen-cancel-a'))
    expect(recorded).toMatchObject({ origin: 'calcom', status: 'cancelled', start, version: 1 })
    expect(recorded?.sync.status).toBe('synced')
    const history = (await suite.h.api(ADMIN, 'GET', `/v1/appointments/${recorded?.id}/history`)).json()
    expect(history.entries[0]).toMatchObject({ what: 'cancelled', bookingUid: 'unseen-cancel-a' })

    await suite.s.webhook('BOOKING_CREATED', { uid: 'unseen-cancel-a', start })
    await suite.s.settle()
    expect(await suite.s.onDay(50)).toEqual([expect.objectContaining({ id: recorded?.id, status: 'cancelled' })])
    expect((await suite.s.create(start)).statusCode).toBe(201)
    expect(await unapplied('unseen-cancel-')).toEqual([])
  })

  it('is recorded once when a handling stopped right after its event insert', async () => {
    const start = futureSlot(80, 9)
    suite.crashAfterNextEventInsert()
    await suite.s.webhook('BOOKING_CANCELLED', { uid: 'crashed-cancel-a', start })
    const recorded = await eventually('the cancelled booking', () => suite.s.byUid('crashed-cancel-a'))
    await suite.s.webhook('BOOKING_CREATED', { uid: 'crashed-cancel-a', start })
    await suite.s.settle()
    expect(await suite.s.onDay(80)).toEqual([
      expect.objectContaining({ id: recorded?.id, status: 'cancelled', start, version: 1 }),
    ])
    expect((await suite.s.create(start)).statusCode).toBe(201)
    expect(await unapplied('crashed-cancel-')).toEqual([])
    expect(suite.crashes, 'stops after the event insert').toBe(1)
  })

  it('is recorded when a handling stopped after claiming its uid, before writing', async () => {
    const start = futureSlot(52, 9)
    const uid = 'stopped-cancel-a'
    // What a process killed between the uid claim and the write leaves: a link, no appointment.
    const id = appointmentIdForBooking(ACME, uid)
    await suite.h.components.store.link(ACME, uid, id, new Date())
    await suite.s.webhook('BOOKING_CANCELLED', { uid, start })
    await eventually('the cancelled booking', () => suite.s.byUid(uid))
    await suite.s.webhook('BOOKING_CREATED', { uid, start })
    await suite.s.settle()
    expect(await suite.s.onDay(52)).toEqual([expect.objectContaining({ id, status: 'cancelled', start })])
  })

  it('ends with one cancelled appointment and a free slot whatever order, and however often, the two come', async () => {
    let day = 60
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(['create', 'create', 'cancel', 'cancel'] as const, { minLength: 4 }),
        fc.boolean(),
        async (order, together) => {
          day += 1
          const start = futureSlot(day, 9)
          const uid = `cancel-order-${day}`
          const send = (what: 'create' | 'cancel') =>
            suite.s.webhook(what === 'create' ? 'BOOKING_CREATED' : 'BOOKING_CANCELLED', { uid, start })
          if (together) await Promise.all(order.map(send))
          else for (const what of order) await send(what)
          await eventually('the booking', () => suite.s.byUid(uid))
          await suite.s.settle()
          expect(await suite.s.onDay(day)).toEqual([
            expect.objectContaining({ status: 'cancelled', calcomBookingUid: uid }),
          ])
          expect((await suite.s.create(start)).statusCode).toBe(201)
        },
      ),
      { numRuns: 12 },
    )
    expect(await unapplied('cancel-order-')).toEqual([])
  }, 120_000)
})

describe('webhooks that sat in the stream through an outage longer than the grace', () => {
  const suite = useUnseenBookingSuite(1500)

  it('a cancel of a booking whose move waits for calsync’s own sync waits with it, past the grace', async () => {
    const [t1, t2] = [futureSlot(72, 9), futureSlot(72, 11)]
    const local = await suite.s.createOk(t1)
    const [made, moved] = ['waiting-72-0', 'waiting-72-1']
    // The customer moves calsync's booking before calsync has its own result: the move waits
    // (awaiting_sync), and the cancel of the booking the move makes names a booking nobody knows.
    await suite.s.webhook('BOOKING_RESCHEDULED', {
      uid: moved,
      rescheduleUid: made,
      start: t2,
      forAppointment: local.id,
    })
    await suite.s.webhook('BOOKING_CANCELLED', { uid: moved, start: t2 })
    // Twice the grace (1.5 s): the cancel has been looked at again and again meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    await suite.s.succeeded(local.id, 1, { action: 'created', uid: made, start: t1 })
    await suite.s.waitFor(local.id, 'the move, then the cancel', (item) => item.status === 'cancelled')
    await suite.s.settle()
    expect(await suite.s.onDay(72)).toEqual([
      expect.objectContaining({ id: local.id, status: 'cancelled', calcomBookingUid: moved }),
    ])
  })

  // The grace is for a webhook that may still be on its way to calsync; one already in the stream
  // behind it (stored during the outage, looked at later) is not lost, however old it is.
  it.each(['BOOKING_CANCELLED', 'BOOKING_RESCHEDULED'] as const)(
    'a %s of a known booking’s successor waits for the move that makes it known',
    async (trigger) => {
      const day = trigger === 'BOOKING_CANCELLED' ? 70 : 71
      const [t1, t2, t3] = [futureSlot(day, 9), futureSlot(day, 11), futureSlot(day, 13)]
      const uid = (hop: number) => `outage-${day}-${hop}`
      await suite.s.webhook('BOOKING_CREATED', { uid: uid(0), start: t1 })
      const known = await eventually('the booking', () => suite.s.byUid(uid(0)))
      await suite.s.settle()
      const tenMinutesAgo = new Date(Date.now() - 600_000)
      // Cal.com sent the move first; calsync stored the later change first and looks at it first.
      const later =
        trigger === 'BOOKING_CANCELLED'
          ? bookingWebhook('BOOKING_CANCELLED', { uid: uid(1), eventTypeId: 1001, start: t2 })
          : bookingWebhook('BOOKING_RESCHEDULED', { uid: uid(2), rescheduleUid: uid(1), eventTypeId: 1001, start: t3 })
      await suite.h.deliverWebhook(ACME, later, undefined, tenMinutesAgo)
      const move = bookingWebhook('BOOKING_RESCHEDULED', {
        uid: uid(1),
        rescheduleUid: uid(0),
        eventTypeId: 1001,
        start: t2,
      })
      await suite.h.deliverWebhook(ACME, move, undefined, tenMinutesAgo)
      await suite.s.waitFor(known?.id ?? '', 'the later change applied to the known appointment', (item) =>
        trigger === 'BOOKING_CANCELLED' ? item.status === 'cancelled' : item.calcomBookingUid === uid(2),
      )
      await suite.s.settle()
      expect(await suite.s.onDay(day)).toEqual([expect.objectContaining({ id: known?.id })])
    },
  )
})
