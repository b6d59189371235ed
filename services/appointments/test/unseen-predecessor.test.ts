// A Cal.com reschedule of a booking calsync never saw (its BOOKING_CREATED lost, or still on its
// way): once its wait is over the new booking is booked as it stands, and the booking it replaced
// joins the chain, so that booking's own webhook, in any order, makes no second appointment.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { ACME, futureSlot } from '../../../test/support/tenants.ts'
import { appointmentIdForBooking } from '../src/appointments/appointment.ts'
import { useUnseenBookingSuite } from './support/scenario.ts'

describe('a reschedule of a booking calsync never saw', () => {
  // No grace: a reschedule that arrives first is booked at once, the ordering the grace makes rare.
  const suite = useUnseenBookingSuite(0)

  it('is booked at its new time, later moves and cancels of it apply, and nothing goes to review', async () => {
    const [t1, t2, t3] = [futureSlot(20, 9), futureSlot(20, 11), futureSlot(20, 13)]
    await suite.s.webhook('BOOKING_RESCHEDULED', { uid: 'unseen-b', rescheduleUid: 'unseen-a', start: t2 })
    const booked = await eventually('the new booking', () => suite.s.byUid('unseen-b'))
    expect(booked).toMatchObject({ origin: 'calcom', status: 'booked', start: t2 })
    await suite.s.webhook('BOOKING_CREATED', { uid: 'unseen-a', start: t1 })
    await suite.s.webhook('BOOKING_RESCHEDULED', { uid: 'unseen-c', rescheduleUid: 'unseen-b', start: t3 })
    await suite.s.waitFor(booked?.id ?? '', 'the second move', (item) => item.calcomBookingUid === 'unseen-c')
    await suite.s.webhook('BOOKING_CANCELLED', { uid: 'unseen-c', start: t3 })
    await suite.s.waitFor(booked?.id ?? '', 'the cancel', (item) => item.status === 'cancelled')
    await suite.s.settle()
    expect(await suite.s.onDay(20)).toEqual([
      expect.objectContaining({ id: booked?.id, status: 'cancelled', start: t3 }),
    ])
    const reviewed = (await suite.s.reviewsOf('unapplied_webhook')).filter((item) =>
      String(item.detail.bookingUid).startsWith('unseen-'),
    )
    expect(reviewed).toEqual([])
  })

  it.each([
    ['the replaced booking', ['a']],
    ['both bookings', ['a', 'b']],
  ])('is booked when a handling stopped after claiming %s, before writing', async (_, claimed) => {
    const day = 25 + claimed.length
    const [t1, t2] = [futureSlot(day, 9), futureSlot(day, 11)]
    const uid = (which: string) => `stopped-${day}-${which}`
    // What a process killed between the uid claims and the write leaves: links, no appointment.
    const id = appointmentIdForBooking(ACME, uid('b'))
    for (const which of claimed) await suite.h.components.store.link(ACME, uid(which), id, new Date())
    await suite.s.webhook('BOOKING_RESCHEDULED', { uid: uid('b'), rescheduleUid: uid('a'), start: t2 })
    await eventually('the new booking', () => suite.s.byUid(uid('b')))
    await suite.s.webhook('BOOKING_CREATED', { uid: uid('a'), start: t1 })
    await suite.s.settle()
    expect(await suite.s.onDay(day)).toEqual([expect.objectContaining({ id, status: 'booked', start: t2 })])
    expect((await suite.s.create(t1)).statusCode).toBe(201)
  })

  it('makes one appointment at the new time whatever order, and however often, the two webhooks come', async () => {
    let day = 30
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(['create', 'create', 'reschedule', 'reschedule'] as const, { minLength: 4 }),
        fc.boolean(),
        async (order, together) => {
          day += 1
          const [t1, t2] = [futureSlot(day, 9), futureSlot(day, 11)]
          const [oldUid, newUid] = [`order-${day}-a`, `order-${day}-b`]
          const send = (what: 'create' | 'reschedule') =>
            what === 'create'
              ? suite.s.webhook('BOOKING_CREATED', { uid: oldUid, start: t1 })
              : suite.s.webhook('BOOKING_RESCHEDULED', { uid: newUid, rescheduleUid: oldUid, start: t2 })
          if (together) await Promise.all(order.map(send))
          else for (const what of order) await send(what)
          await eventually('the new booking', () => suite.s.byUid(newUid))
          await suite.s.settle()
          const appointments = await suite.s.onDay(day)
          expect(appointments).toEqual([
            expect.objectContaining({ status: 'booked', start: t2, calcomBookingUid: newUid }),
          ])
          // The new time is held; the old one is free (no ghost holds it).
          expect((await suite.s.create(t2)).statusCode).toBe(409)
          expect((await suite.s.create(t1)).statusCode).toBe(201)
        },
      ),
      { numRuns: 12 },
    )
  }, 120_000)
})
