import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import {
  attendee,
  BRIGHT_KEY,
  futureSlot,
  type Receiver,
  type SandboxHarness,
  startReceiver,
  startSandbox,
  testTenants,
} from './support/sandbox-harness.ts'

describe('fault injection', () => {
  let h: SandboxHarness
  let receiver: Receiver
  beforeAll(async () => {
    receiver = await startReceiver()
    h = await startSandbox({ tenants: testTenants({ acme: receiver.url() }) })
  })
  afterAll(async () => {
    await h.close()
    await receiver.close()
  })
  beforeEach(async () => {
    await h.sandbox.flushWebhooks()
    h.sandbox.reset()
    receiver.received.length = 0
  })

  it('answers 503 twice, then serves normally', async () => {
    const queued = await h.control('POST', '/faults', {
      match: { method: 'POST', path: '/v2/bookings' },
      action: { status: 503 },
      times: 2,
    })
    expect(queued.status).toBe(201)
    const start = futureSlot(0, 10)
    const first = await h.book(start)
    expect(first.status).toBe(503)
    expect(first.body).toMatchObject({ status: 'error', error: { code: 'ServiceUnavailableException' } })
    expect((await h.book(start)).status).toBe(503)
    expect((await h.book(start)).status).toBe(201)
    expect(h.sandbox.bookings()).toHaveLength(1)
    expect(h.sandbox.requests().map((request) => [request.status, request.fault])).toEqual([
      [503, 'status 503'],
      [503, 'status 503'],
      [201, null],
    ])
  })

  it('answers a 429 fault like the throttler: envelope, rate-limit headers with a reset, no Retry-After', async () => {
    h.sandbox.addFault({ path: '/v2/bookings' }, { status: 429, resetSeconds: 7 })
    const answer = await h.call('GET', '/v2/bookings')
    expect(answer.status).toBe(429)
    expect(answer.body.error.code).toBe('ThrottlerException')
    expect(answer.headers.get('x-ratelimit-limit-default')).toBe('1000')
    expect(answer.headers.get('x-ratelimit-remaining-default')).toBe('0')
    expect(answer.headers.get('x-ratelimit-reset-default')).toBe('7')
    expect(answer.headers.get('retry-after')).toBeNull()
    expect((await h.call('GET', '/v2/bookings')).status).toBe(200)
  })

  it('matches faults by method, path prefix or regular expression, and API key', async () => {
    const booking = (await h.book(futureSlot(0, 10))).body.data
    h.sandbox.addFault({ apiKey: BRIGHT_KEY }, { status: 500 })
    h.sandbox.addFault({ method: 'post', path: '^/v2/bookings/[^/]+/cancel$' }, { status: 502 })
    expect((await h.call('GET', `/v2/bookings/${booking.uid}`)).status).toBe(200)
    expect((await h.book(futureSlot(0, 11))).status).toBe(201)
    expect((await h.cancel(booking.uid)).status).toBe(502)
    expect((await h.cancel(booking.uid)).status).toBe(200)
    expect(h.sandbox.faults()).toMatchObject([{ match: { apiKey: '[redacted]' }, remaining: 1 }])
    const bright = await h.call('GET', '/v2/bookings', { key: BRIGHT_KEY })
    expect(bright.status).toBe(500)
    expect(bright.body.error.code).toBe('INTERNAL_SERVER_ERROR')
    expect(h.sandbox.faults()).toHaveLength(0)
  })

  it('refuses malformed faults on the control API', async () => {
    for (const body of [
      { action: { status: 418 } },
      { action: { delayMs: -1 } },
      { match: { path: '^(' }, action: { hang: true } },
      { action: { hang: true }, times: 0 },
      {},
    ]) {
      const answer = await h.control('POST', '/faults', body)
      expect(answer.status, JSON.stringify(body)).toBe(400)
    }
    expect((await h.control('GET', '/faults')).body).toEqual([])
  })

  it('delays, then proceeds normally', async () => {
    h.sandbox.addFault({ method: 'GET' }, { delayMs: 200 })
    const answer = await h.call('GET', '/v2/bookings')
    expect(answer.status).toBe(200)
    expect(h.sandbox.requests()[0]).toMatchObject({ status: 200, fault: 'delay 200ms' })
  })

  const body = (start: string) => ({ start, eventTypeId: 1001, attendee })
  const hungRequest = () =>
    eventually('the request to hang', async () =>
      h.sandbox.requests().find((request) => request.fault === 'hang') ? true : undefined,
    )

  it('hangs until the client gives up, without booking, and keeps serving others', async () => {
    h.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { hang: true })
    const start = futureSlot(0, 10)
    const gaveUp = await h
      .call('POST', '/v2/bookings', { body: body(start), signal: AbortSignal.timeout(300) })
      .catch((error: Error) => error)
    expect(gaveUp).toBeInstanceOf(Error)
    expect((gaveUp as Error).name).toBe('TimeoutError')
    expect((await h.book(start)).status).toBe(201)
    expect(h.sandbox.bookings()).toHaveLength(1)
    expect(h.sandbox.requests()[0]).toMatchObject({ status: null, fault: 'hang' })
  })

  it('releases a hung request on reset: its connection is dropped', async () => {
    h.sandbox.addFault({}, { hang: true })
    const pending = h.call('GET', '/v2/bookings').catch((error: Error) => error)
    await hungRequest()
    h.sandbox.reset()
    expect(await pending).toBeInstanceOf(Error)
    expect((await h.call('GET', '/v2/bookings')).status).toBe(200)
  })

  it('closes cleanly while a request hangs', async () => {
    const other = await startSandbox()
    other.sandbox.addFault({}, { hang: true })
    const pending = other.call('GET', '/v2/bookings').catch((error: Error) => error)
    await eventually('the request to hang', async () => (other.sandbox.requests()[0]?.fault ? true : undefined))
    await other.close()
    expect(await pending).toBeInstanceOf(Error)
  })

  it('commits, sends the webhook, then drops the connection unanswered (a lost answer)', async () => {
    h.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { commitThenDrop: true })
    const start = futureSlot(0, 10)
    const lost = await h.book(start, { metadata: { calsyncAppointmentId: 'apt_lost' } }).catch((error: Error) => error)
    expect(lost).toBeInstanceOf(TypeError)
    const stored = (await h.control('GET', '/bookings')).body
    expect(stored).toHaveLength(1)
    expect(stored[0]).toMatchObject({ start, status: 'accepted', metadata: { calsyncAppointmentId: 'apt_lost' } })
    const webhook = await eventually('the webhook', async () =>
      receiver.received.find((delivery) => delivery.json.payload.uid === stored[0].uid),
    )
    expect(webhook.json.triggerEvent).toBe('BOOKING_CREATED')
    expect(h.sandbox.requests()[0]).toMatchObject({ status: 201, fault: 'commitThenDrop' })
    // A retry by the client finds the slot taken by its own lost booking.
    expect((await h.book(start)).status).toBe(400)
  })

  it('drops the answer of a committed cancel too', async () => {
    const booking = (await h.book(futureSlot(0, 10))).body.data
    h.sandbox.addFault({ path: '^/v2/bookings/.+/cancel' }, { commitThenDrop: true })
    expect(await h.cancel(booking.uid).catch((error: Error) => error)).toBeInstanceOf(TypeError)
    expect(h.sandbox.bookings()[0]?.status).toBe('cancelled')
    const triggers = await eventually('both webhooks', async () => {
      const ours = receiver.received.filter((delivery) => delivery.json.payload.uid === booking.uid)
      return ours.length === 2 ? ours.map((delivery) => delivery.json.triggerEvent) : undefined
    })
    expect(triggers).toEqual(['BOOKING_CREATED', 'BOOKING_CANCELLED'])
  })
})
