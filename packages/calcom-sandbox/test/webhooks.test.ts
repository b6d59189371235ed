import { createHmac } from 'node:crypto'
import { CalcomBookingWebhook, createSchemaCheck } from '@calsync/contracts'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import {
  ACME,
  attendee,
  BRIGHT,
  BRIGHT_KEY,
  futureSlot,
  plusMinutes,
  type ReceivedWebhook,
  type Receiver,
  type SandboxHarness,
  startReceiver,
  startSandbox,
  TEST_SECRETS,
  testTenants,
} from './support/sandbox-harness.ts'

const checkWebhook = createSchemaCheck(CalcomBookingWebhook)
const hmac = (secret: string, raw: Buffer) => createHmac('sha256', secret).update(raw).digest('hex')

describe('webhooks', () => {
  let h: SandboxHarness
  let receiver: Receiver
  beforeAll(async () => {
    receiver = await startReceiver()
    h = await startSandbox({
      tenants: testTenants({
        acme: receiver.url(`/webhooks/calcom/${ACME}`),
        bright: receiver.url(`/webhooks/calcom/${BRIGHT}`),
      }),
    })
  })
  afterAll(async () => {
    await h.close()
    await receiver.close()
  })
  beforeEach(async () => {
    await h.sandbox.flushWebhooks()
    h.sandbox.reset()
    receiver.received.length = 0
    receiver.answerWith(200)
  })

  /** The deliveries about these booking uids, once there are `count` of them. */
  const deliveriesFor = (uids: string[], count: number) =>
    eventually(`${count} webhook(s)`, async () => {
      const ours = receiver.received.filter((delivery) => uids.includes(delivery.json.payload.uid))
      return ours.length >= count ? ours : undefined
    })

  it('sends BOOKING_CREATED like Cal.com: headers, signature over the raw body, §5 payload', async () => {
    const start = futureSlot(0, 10)
    const created = await h.book(start, {
      attendee: { ...attendee, timeZone: 'Europe/Berlin' },
      metadata: { calsyncAppointmentId: 'apt_1' },
    })
    const booking = created.body.data
    const [delivery] = (await deliveriesFor([booking.uid], 1)) as [ReceivedWebhook]
    expect(delivery.url).toBe(`/webhooks/calcom/${ACME}`)
    expect(delivery.headers['content-type']).toBe('application/json')
    expect(delivery.headers['x-cal-webhook-version']).toBe('2021-10-20')
    expect(delivery.headers['x-cal-signature-256']).toBe(hmac(TEST_SECRETS.ACME_WEBHOOK_SECRET, delivery.raw))
    expect(delivery.headers['x-cal-signature-256']).toMatch(/^[0-9a-f]{64}$/)

    const body = delivery.json
    expect(checkWebhook.check(body)).toMatchObject({ ok: true })
    expect(body.triggerEvent).toBe('BOOKING_CREATED')
    expect(Number.isNaN(Date.parse(body.createdAt))).toBe(false)
    expect(body.payload).toMatchObject({
      type: expect.any(String),
      title: booking.title,
      startTime: start.replace('.000Z', 'Z'),
      endTime: plusMinutes(start, 30).replace('.000Z', 'Z'),
      organizer: { name: 'dr-jones', email: expect.any(String), timeZone: 'UTC', language: { locale: 'en' } },
      attendees: [
        {
          name: attendee.name,
          email: attendee.email,
          timeZone: 'Europe/Berlin',
          language: { locale: 'en' },
          utcOffset: expect.any(Number),
        },
      ],
      uid: booking.uid,
      bookingId: booking.id,
      eventTypeId: 1001,
      metadata: { calsyncAppointmentId: 'apt_1' },
      status: 'ACCEPTED',
      length: 30,
    })
    expect([60, 120]).toContain(body.payload.attendees[0].utcOffset)
    expect(h.sandbox.webhooks()).toMatchObject([
      { tenantId: ACME, trigger: 'BOOKING_CREATED', bookingUid: booking.uid, status: 200, ok: true, error: null },
    ])
  })

  it('sends only BOOKING_RESCHEDULED for a reschedule: new uid, old uid in rescheduleUid, metadata carried', async () => {
    const booking = (await h.book(futureSlot(0, 10), { metadata: { calsyncAppointmentId: 'apt_2' } })).body.data
    const start = futureSlot(0, 15)
    const moved = (
      await h.reschedule(booking.uid, start, { reschedulingReason: 'travel', rescheduledBy: attendee.email })
    ).body.data
    await h.sandbox.flushWebhooks()
    const deliveries = await deliveriesFor([booking.uid, moved.uid], 2)
    expect(deliveries.map((delivery) => delivery.json.triggerEvent)).toEqual(['BOOKING_CREATED', 'BOOKING_RESCHEDULED'])
    const rescheduled = deliveries[1]?.json
    expect(checkWebhook.check(rescheduled)).toMatchObject({ ok: true })
    expect(rescheduled.payload).toMatchObject({
      uid: moved.uid,
      bookingId: moved.id,
      rescheduleUid: booking.uid,
      rescheduleId: booking.id,
      rescheduleStartTime: booking.start.replace('.000Z', 'Z'),
      rescheduleEndTime: booking.end.replace('.000Z', 'Z'),
      rescheduledBy: attendee.email,
      startTime: start.replace('.000Z', 'Z'),
      metadata: { calsyncAppointmentId: 'apt_2' },
      status: 'ACCEPTED',
    })
    // No BOOKING_CANCELLED for the old booking, ever.
    await h.sandbox.flushWebhooks()
    expect(h.sandbox.webhooks().map((delivery) => delivery.trigger)).toEqual(['BOOKING_CREATED', 'BOOKING_RESCHEDULED'])
  })

  it('sends BOOKING_CANCELLED without metadata', async () => {
    const booking = (await h.book(futureSlot(0, 10), { metadata: { calsyncAppointmentId: 'apt_3' } })).body.data
    await h.cancel(booking.uid, 'patient moved away')
    const [, cancelled] = (await deliveriesFor([booking.uid], 2)).map((delivery) => delivery.json)
    expect(checkWebhook.check(cancelled)).toMatchObject({ ok: true })
    expect(cancelled.triggerEvent).toBe('BOOKING_CANCELLED')
    expect(cancelled.payload).toMatchObject({
      uid: booking.uid,
      bookingId: booking.id,
      status: 'CANCELLED',
      cancellationReason: 'patient moved away',
      cancelledBy: expect.any(String),
    })
    expect('metadata' in cancelled.payload).toBe(false)
  })

  it("signs each tenant's webhooks with that tenant's secret", async () => {
    const booking = (await h.book(futureSlot(0, 10), { eventTypeId: 2001 }, BRIGHT_KEY)).body.data
    const [delivery] = (await deliveriesFor([booking.uid], 1)) as [ReceivedWebhook]
    expect(delivery.url).toBe(`/webhooks/calcom/${BRIGHT}`)
    expect(delivery.headers['x-cal-signature-256']).toBe(hmac(TEST_SECRETS.BRIGHT_WEBHOOK_SECRET, delivery.raw))
    expect(delivery.headers['x-cal-signature-256']).not.toBe(hmac(TEST_SECRETS.ACME_WEBHOOK_SECRET, delivery.raw))
  })

  it('tries once: a failing answer or a redirect is recorded, not retried or followed', async () => {
    receiver.answerWith(500)
    const first = (await h.book(futureSlot(0, 10))).body.data
    await deliveriesFor([first.uid], 1)
    receiver.answerWith(302, { location: receiver.url('/elsewhere') })
    const second = (await h.book(futureSlot(0, 11))).body.data
    await deliveriesFor([second.uid], 1)
    await h.sandbox.flushWebhooks()
    expect(h.sandbox.webhooks().map((delivery) => [delivery.status, delivery.ok])).toEqual([
      [500, false],
      [302, false],
    ])
    expect(receiver.received.map((delivery) => delivery.url)).not.toContain('/elsewhere')
    expect(receiver.received).toHaveLength(2)
  })

  it('records an unreachable subscriber as an error', async () => {
    const closed = await startReceiver()
    const url = closed.url('/gone')
    await closed.close()
    h.sandbox.setWebhookUrl(ACME, url)
    await h.book(futureSlot(0, 10))
    await h.sandbox.flushWebhooks()
    await eventually('the failed delivery', async () => (h.sandbox.webhooks()[0]?.error ? true : undefined))
    expect(h.sandbox.webhooks()[0]).toMatchObject({ url, status: null, ok: false })
    h.sandbox.setWebhookUrl(ACME, receiver.url(`/webhooks/calcom/${ACME}`))
  })

  it('follows a webhook URL changed at runtime, and sends nothing without one', async () => {
    const moved = await h.control('PUT', `/tenants/${ACME}/webhook-url`, { url: receiver.url('/new-home') })
    expect(moved.status).toBe(200)
    const booking = (await h.book(futureSlot(0, 10))).body.data
    const [delivery] = (await deliveriesFor([booking.uid], 1)) as [ReceivedWebhook]
    expect(delivery.url).toBe('/new-home')

    await h.control('PUT', `/tenants/${ACME}/webhook-url`, { url: null })
    await h.book(futureSlot(0, 11))
    await h.sandbox.flushWebhooks()
    expect(h.sandbox.webhooks()).toHaveLength(1)
    expect((await h.control('PUT', '/tenants/nobody/webhook-url', { url: receiver.url() })).status).toBe(404)
    expect((await h.control('PUT', `/tenants/${ACME}/webhook-url`, { url: 'ftp://x' })).status).toBe(400)
    h.sandbox.setWebhookUrl(ACME, receiver.url(`/webhooks/calcom/${ACME}`))
  })

  it('holds webhooks back and releases them in the order asked, some twice, some never', async () => {
    const held = await h.control('POST', '/webhooks/hold', { tenantId: ACME })
    expect(held.status).toBe(201)
    const first = (await h.book(futureSlot(1, 9))).body.data
    const second = (await h.book(futureSlot(1, 11))).body.data
    const third = (await h.book(futureSlot(1, 13))).body.data
    const other = (await h.book(futureSlot(1, 9), { eventTypeId: 2001 }, BRIGHT_KEY)).body.data
    // Another tenant's webhooks are not held.
    await deliveriesFor([other.uid], 1)
    await h.sandbox.flushWebhooks()
    expect(receiver.received.filter((delivery) => delivery.url.includes(ACME))).toHaveLength(0)
    const list = (await h.control('GET', '/webhooks/held')).body as Array<{ id: number; bookingUid: string }>
    expect(list.map((item) => item.bookingUid)).toEqual([first.uid, second.uid, third.uid])
    const [a, b, c] = list.map((item) => item.id) as [number, number, number]

    expect((await h.control('POST', '/webhooks/release', { order: [99] })).status).toBe(404)
    expect((await h.control('POST', '/webhooks/release', { order: 'all' })).status).toBe(400)
    const released = await h.control('POST', '/webhooks/release', { order: [c, a], twice: [a], drop: [b] })
    expect(released.body).toMatchObject({ status: 'released', sent: [c, a], dropped: [b] })
    const delivered = await deliveriesFor([first.uid, second.uid, third.uid], 3)
    expect(delivered.map((delivery) => delivery.json.payload.uid)).toEqual([third.uid, first.uid, first.uid])
    // Nothing left held: holding ended, later webhooks go at once.
    expect((await h.control('GET', '/webhooks/held')).body).toEqual([])
    const later = (await h.book(futureSlot(1, 15))).body.data
    await deliveriesFor([later.uid], 1)
  })
  it('retries like the newest delivery path when asked: 408/429/5xx again, each attempt rebuilt and signed', async () => {
    expect((await h.control('PUT', '/webhooks/retries', { attempts: 0 })).status).toBe(400)
    expect((await h.control('PUT', '/webhooks/retries', { attempts: 3, delayMs: -1 })).status).toBe(400)
    expect((await h.control('PUT', '/webhooks/retries', { attempts: 3, delayMs: 20 })).body).toMatchObject({
      retries: { attempts: 3, delayMs: 20 },
    })
    receiver.answerNext(503, 500)
    const retried = (await h.book(futureSlot(2, 9))).body.data
    await h.sandbox.flushWebhooks()
    const attempts = await deliveriesFor([retried.uid], 3)
    // Each attempt's bytes are its own (a new createdAt), and each is signed over them.
    expect(new Set(attempts.map((delivery) => delivery.json.createdAt)).size).toBe(3)
    for (const delivery of attempts) {
      expect(delivery.headers['x-cal-signature-256']).toBe(hmac(TEST_SECRETS.ACME_WEBHOOK_SECRET, delivery.raw))
    }
    const log = h.sandbox.webhooks().filter((delivery) => delivery.bookingUid === retried.uid)
    expect(log.map(({ attempt, status, retrying, ok }) => ({ attempt, status, retrying, ok }))).toEqual([
      { attempt: 1, status: 503, retrying: true, ok: false },
      { attempt: 2, status: 500, retrying: true, ok: false },
      { attempt: 3, status: 200, retrying: false, ok: true },
    ])
    expect(log.map((delivery) => delivery.seq)).toEqual([...log.map((delivery) => delivery.seq)].sort((a, b) => a - b))

    // Out of attempts, or a 4xx other than 408/429: given up, the last attempt not retrying.
    receiver.answerNext(503, 503, 503, 400)
    const lost = (await h.book(futureSlot(2, 11))).body.data
    await h.sandbox.flushWebhooks()
    const refused = (await h.book(futureSlot(2, 13))).body.data
    await h.sandbox.flushWebhooks()
    const outcome = (uid: string) =>
      h.sandbox
        .webhooks()
        .filter((delivery) => delivery.bookingUid === uid)
        .map(({ status, retrying }) => [status, retrying])
    expect(outcome(lost.uid)).toEqual([
      [503, true],
      [503, true],
      [503, false],
    ])
    expect(outcome(refused.uid)).toEqual([[400, false]])

    expect((await h.control('PUT', '/webhooks/retries', { attempts: 1 })).body).toMatchObject({ retries: null })
    receiver.answerNext(503)
    const once = (await h.book(futureSlot(2, 15))).body.data
    await h.sandbox.flushWebhooks()
    expect(outcome(once.uid)).toEqual([[503, false]])
  })
})
