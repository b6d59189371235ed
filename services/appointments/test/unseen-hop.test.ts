// A customer's move of calsync's booking lost (its webhook refused, say by a gateway answering
// 503 to a Cal.com that does not retry), then a second move of the same booking: the second names
// a booking calsync never saw, but its metadata (carried over by Cal.com) names the appointment.
// Once its wait is over the appointment moves, the unseen hop joining its chain (decision row 33),
// so the late first move, if it comes after all, is a duplicate.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { ACME, futureSlot } from '../../../test/support/tenants.ts'
import { useUnseenBookingSuite } from './support/scenario.ts'

describe('a move of a booking calsync never saw, whose metadata names the appointment', () => {
  // No grace: the second move is taken at once, the ordering the grace makes rare. Its last chance
  // (where every wait ends anyway) a minute away: what passes here passed by the grace.
  const suite = useUnseenBookingSuite(0, { maxMs: 2_000, deliveries: 36 })

  /** A local appointment calcom-sync booked as `uid` on Cal.com. */
  async function synced(day: number, uid: string) {
    const local = await suite.s.createOk(futureSlot(day, 9))
    await suite.s.succeeded(local.id, 1, { action: 'created', uid, start: local.start })
    await suite.s.waitFor(local.id, 'its booking', (item) => item.calcomBookingUid === uid)
    return local
  }

  /** Cal.com's BOOKING_RESCHEDULED of `from` to `to`, its metadata naming `appointmentId`. */
  const move = (appointmentId: string, from: string, to: string, start: string, attendeeEmail?: string) =>
    suite.s.webhook('BOOKING_RESCHEDULED', {
      uid: to,
      rescheduleUid: from,
      start,
      forAppointment: appointmentId,
      ...(attendeeEmail ? { attendeeEmail } : {}),
    })

  const reviewedUids = async (prefix: string) =>
    (await suite.s.reviewsOf('unapplied_webhook'))
      .map((item) => String(item.detail.bookingUid))
      .filter((uid) => uid.startsWith(prefix))

  it('moves the appointment; the lost move, when it comes after all, changes nothing', async () => {
    const day = 40
    const [t1, t2] = [futureSlot(day, 11), futureSlot(day, 13)]
    const local = await synced(day, 'hop-40-a')
    await move(local.id, 'hop-40-b', 'hop-40-c', t2)
    await suite.s.waitFor(local.id, 'the move', (item) => item.calcomBookingUid === 'hop-40-c')
    await move(local.id, 'hop-40-a', 'hop-40-b', t1)
    await suite.s.settle()
    expect(await suite.s.onDay(day)).toEqual([
      expect.objectContaining({ id: local.id, status: 'booked', start: t2, calcomBookingUid: 'hop-40-c' }),
    ])
    expect(await reviewedUids('hop-40-')).toEqual([])
    // Only the new time is held.
    expect((await suite.s.create(t2)).statusCode).toBe(409)
    expect((await suite.s.create(t1)).statusCode).toBe(201)
    expect((await suite.s.create(futureSlot(day, 9))).statusCode).toBe(201)
  })

  it('waits while the appointment has a change of its own on the way, then moves it', async () => {
    const day = 41
    const t2 = futureSlot(day, 13)
    const local = await suite.s.createOk(futureSlot(day, 9))
    await move(local.id, 'hop-41-b', 'hop-41-c', t2)
    await suite.s.succeeded(local.id, 1, { action: 'created', uid: 'hop-41-a', start: local.start })
    await suite.s.waitFor(local.id, 'the move', (item) => item.calcomBookingUid === 'hop-41-c')
    await suite.s.settle()
    expect(await suite.s.onDay(day)).toEqual([expect.objectContaining({ id: local.id, start: t2 })])
  })

  it.each([
    ['the unseen booking', ['b'], 43],
    ['both bookings', ['b', 'c'], 44],
  ])('moves the appointment when a handling stopped after claiming %s, before writing', async (_, claimed, day) => {
    const t2 = futureSlot(day, 13)
    const uid = (which: string) => `hop-${day}-${which}`
    const local = await synced(day, uid('a'))
    // What a process killed between the uid claims and the write leaves: links, no new version.
    for (const which of claimed) await suite.h.components.store.link(ACME, uid(which), local.id, new Date())
    await move(local.id, uid('b'), uid('c'), t2)
    await suite.s.waitFor(local.id, 'the move', (item) => item.calcomBookingUid === uid('c'))
    await suite.s.settle()
    expect(await suite.s.onDay(day)).toEqual([expect.objectContaining({ id: local.id, start: t2 })])
    expect(await reviewedUids(`hop-${day}-`)).toEqual([])
  })

  it('moves the appointment once when its handling stopped right after the event insert', async () => {
    const day = 45
    const [t1, t2] = [futureSlot(day, 11), futureSlot(day, 13)]
    const uid = (which: string) => `hop-${day}-${which}`
    const local = await synced(day, uid('a'))
    suite.crashAfterNextEventInsert()
    await move(local.id, uid('b'), uid('c'), t2)
    await suite.s.waitFor(local.id, 'the move', (item) => item.calcomBookingUid === uid('c'))
    await move(local.id, uid('a'), uid('b'), t1)
    await suite.s.settle()
    expect(await suite.s.onDay(day)).toEqual([expect.objectContaining({ id: local.id, start: t2, version: 2 })])
    expect(await reviewedUids(`hop-${day}-`)).toEqual([])
    expect((await suite.s.create(t1)).statusCode).toBe(201)
    expect(suite.crashes, 'stops after the event insert').toBe(1)
  })

  it('books a move whose metadata names an appointment of another attendee as a booking of its own', async () => {
    const day = 42
    const t2 = futureSlot(day, 13)
    const local = await synced(day, 'hop-42-a')
    await move(local.id, 'hop-42-b', 'hop-42-c', t2, 'someone.else@example.org')
    const own = await eventually('the booking of its own', () => suite.s.byUid('hop-42-c'))
    await suite.s.settle()
    expect(own).toMatchObject({ origin: 'calcom', status: 'booked', start: t2 })
    expect(own?.id).not.toBe(local.id)
    expect(await suite.s.get(local.id)).toMatchObject({ start: local.start, calcomBookingUid: 'hop-42-a' })
  })

  it('ends at the second move whatever order, and however often, the two moves come', async () => {
    let day = 50
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(['second'], ['first', 'second'], ['second', 'first'], ['second', 'second', 'first']),
        fc.boolean(),
        async (order, together) => {
          day += 1
          const [t1, t2] = [futureSlot(day, 11), futureSlot(day, 13)]
          const uid = (which: string) => `hops-${day}-${which}`
          const local = await synced(day, uid('a'))
          const send = (which: string) =>
            which === 'first' ? move(local.id, uid('a'), uid('b'), t1) : move(local.id, uid('b'), uid('c'), t2)
          if (together) await Promise.all(order.map(send))
          else for (const which of order) await send(which)
          await suite.s.waitFor(local.id, 'the second move', (item) => item.calcomBookingUid === uid('c'))
          await suite.s.settle()
          expect(await suite.s.onDay(day)).toEqual([
            expect.objectContaining({ id: local.id, status: 'booked', start: t2, calcomBookingUid: uid('c') }),
          ])
          expect(await reviewedUids(`hops-${day}-`)).toEqual([])
          expect((await suite.s.create(t1)).statusCode).toBe(201)
        },
      ),
      { numRuns: 10 },
    )
  }, 120_000)
})
