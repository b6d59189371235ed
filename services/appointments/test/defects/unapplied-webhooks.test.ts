// Defects 8 (second half), 10, 11 and 13: a webhook answered 2xx is applied or reviewed, never
// dropped or guessed (I3); an echo needs more than metadata; implausible times go to review.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook } from '../../../../test/support/calcom-webhooks.ts'
import { eventually } from '../../../../test/support/infra.ts'
import { ACME, futureSlot } from '../../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from '../support/harness.ts'
import { scenario } from '../support/scenario.ts'

describe('webhooks calsync cannot apply', () => {
  let h: AppointmentsHarness
  let s: ReturnType<typeof scenario>
  beforeAll(async () => {
    // Short waits, so "waited past its bound" happens within a test.
    h = await startAppointmentsHarness({ components: { webhookWait: { initialMs: 20, maxMs: 100, deliveries: 4 } } })
    s = scenario(h)
  })
  afterAll(() => h.close())

  const unapplied = async (uid: string) =>
    eventually(`a review item for ${uid}`, async () =>
      (await s.reviewsOf('unapplied_webhook')).find((item) => item.detail.bookingUid === uid),
    )

  it('defect 8: a cancellation of a booking that never becomes known is recorded, cancelled, not dropped', async () => {
    const start = futureSlot(12, 9)
    await s.webhook('BOOKING_CANCELLED', { uid: 'never-known-1', start })
    const recorded = await eventually('the cancelled booking', () => s.byUid('never-known-1'))
    expect(recorded).toMatchObject({ origin: 'calcom', status: 'cancelled', start })
    await s.settle()
    expect(
      (await s.reviewsOf('unapplied_webhook')).filter((item) => item.detail.bookingUid === 'never-known-1'),
    ).toEqual([])
  })

  it('defect 8: … and one that cannot have been a booking here goes to review, naming the stored message', async () => {
    await s.webhook('BOOKING_CANCELLED', { uid: 'never-known-2', start: futureSlot(12, 11), eventTypeId: 4040 })
    const item = await unapplied('never-known-2')
    expect(item).toMatchObject({ tenantId: ACME, errorCode: 'unknown_event_type' })
    expect(item.detail).toMatchObject({ stream: h.names.streams.webhooks, subject: expect.any(String) })
    expect(item.detail.streamSequence).toBeGreaterThan(0)
    expect(await s.byUid('never-known-2')).toBeUndefined()
  })

  it('defect 10: a booking of an event type missing from the registry goes to review, not "ignored"', async () => {
    await s.webhook('BOOKING_CREATED', { uid: 'no-type-1', start: futureSlot(12, 11), eventTypeId: 1999 })
    expect(await unapplied('no-type-1')).toMatchObject({ errorCode: 'unknown_event_type' })
  })

  it('defect 10: a reschedule of a booking never seen is booked as it stands at its last delivery, and the late original booking makes no ghost', async () => {
    const [t1, t2] = [futureSlot(13, 9), futureSlot(13, 11)]
    await s.webhook('BOOKING_RESCHEDULED', { uid: 'ghost-2', rescheduleUid: 'ghost-1', start: t2 })
    const booked = await eventually('the reschedule booked as it stands', () => s.byUid('ghost-2'))
    expect(booked).toMatchObject({ origin: 'calcom', start: t2, status: 'booked' })
    await s.webhook('BOOKING_CREATED', { uid: 'ghost-1', start: t1 })
    await s.settle()
    const onThatDay = (await s.listed()).filter((item) => item.start.slice(0, 10) === t1.slice(0, 10))
    expect(onThatDay).toHaveLength(1)
    expect(onThatDay[0]).toMatchObject({ id: booked?.id, calcomBookingUid: 'ghost-2', start: t2, version: 1 })
    const reviewed = (await s.reviewsOf('unapplied_webhook')).filter((item) =>
      ['ghost-1', 'ghost-2'].includes(String(item.detail.bookingUid)),
    )
    expect(reviewed).toEqual([])
  })

  it("defect 11: a booking carrying another appointment's calsync metadata is a booking of its own", async () => {
    const mine = await s.createOk(futureSlot(14, 9))
    await s.succeeded(mine.id, 1, { action: 'created', uid: 'meta-own-1', start: mine.start })
    // Cal.com booking pages take metadata from the URL: anyone can send this one.
    await s.webhook('BOOKING_CREATED', { uid: 'meta-forged-1', start: futureSlot(14, 13), forAppointment: mine.id })
    const forged = await eventually('the forged booking applied as a booking', () => s.byUid('meta-forged-1'))
    expect(forged).toMatchObject({ origin: 'calcom', start: futureSlot(14, 13), status: 'booked' })
    expect(forged.id).not.toBe(mine.id)
    expect(await s.get(mine.id)).toMatchObject({ start: futureSlot(14, 9), version: 1 })
  })

  it('defect 13: a webhook whose end is not after its start, or that lasts for years, goes to review', async () => {
    const start = futureSlot(15, 9)
    const backwards = bookingWebhook('BOOKING_CREATED', { uid: 'backwards-1', eventTypeId: 1001, start })
    backwards.payload.endTime = futureSlot(15, 8)
    await h.deliverWebhook(ACME, backwards)
    const years = bookingWebhook('BOOKING_CREATED', { uid: 'years-1', eventTypeId: 1001, start: futureSlot(15, 11) })
    years.payload.endTime = new Date(Date.parse(futureSlot(15, 11)) + 3 * 365 * 86_400_000).toISOString()
    await h.deliverWebhook(ACME, years)
    expect(await unapplied('backwards-1')).toMatchObject({ errorCode: 'invalid_interval' })
    expect(await unapplied('years-1')).toMatchObject({ errorCode: 'invalid_interval' })
    await s.settle()
    expect(await s.byUid('backwards-1')).toBeUndefined()
    expect(await s.byUid('years-1')).toBeUndefined()
    // The service is still there for everyone.
    expect((await s.create(futureSlot(15, 14))).statusCode).toBe(201)
  })

  it('defect 13: a Cal.com attendee the snapshot cannot hold is normalised, so later changes still sync', async () => {
    const webhook = bookingWebhook('BOOKING_CREATED', {
      uid: 'odd-attendee-1',
      eventTypeId: 1001,
      start: futureSlot(16, 9),
    })
    webhook.payload.attendees = [{ name: '', email: 'not an e-mail', timeZone: '' }]
    await h.deliverWebhook(ACME, webhook)
    const found = await eventually('the booking', () => s.byUid('odd-attendee-1'))
    expect((await s.reschedule(found.id, futureSlot(16, 11))).statusCode).toBe(200)
    await s.settle()
    const events = await h.events(found.id)
    expect(events.map((event) => event.body.version)).toEqual([1, 2])
    expect(events[1]?.body.appointment.attendee.name.length).toBeGreaterThan(0)
  })
})
