import { createHmac } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import { createCalcomSandbox } from '@calsync/calcom-sandbox'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'

const KEY = 'cal_test_sandbox_key_a'
const SECRET = 'sandbox-secret-a'
const future = (hour: number) => {
  const date = new Date(Date.now() + 30 * 86_400_000)
  date.setUTCHours(hour, 0, 0, 0)
  return date.toISOString()
}

interface Envelope {
  status: string
  data: { uid: string } & Record<string, unknown>
  error: { code: string; message: string }
}
const json = async (response: Response | undefined) => (await response?.json()) as Envelope

describe('Cal.com sandbox', () => {
  const received: Array<{ headers: IncomingMessage['headers']; body: string }> = []
  const receiver = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => {
      body += chunk
    })
    request.on('end', () => {
      received.push({ headers: request.headers, body })
      response.writeHead(200).end()
    })
  })
  let sandbox: ReturnType<typeof createCalcomSandbox>
  let base: string

  beforeAll(async () => {
    receiver.listen(0, '127.0.0.1')
    await once(receiver, 'listening')
    const port = (receiver.address() as { port: number }).port
    sandbox = createCalcomSandbox({
      tenants: [
        {
          id: 'a',
          apiKey: KEY,
          webhookSecret: SECRET,
          eventTypes: [
            { id: 1, resource: 'host-1', lengthMinutes: 30 },
            { id: 2, resource: 'host-2', lengthMinutes: 30 },
          ],
          webhookUrl: `http://127.0.0.1:${port}/hook`,
        },
        {
          id: 'b',
          apiKey: 'cal_test_sandbox_key_b',
          webhookSecret: 'b',
          eventTypes: [{ id: 9, resource: 'h', lengthMinutes: 30 }],
        },
      ],
      rateLimitPerMinute: 1000,
    })
    await sandbox.app.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(sandbox.app.server.address() as { port: number }).port}`
  })
  afterAll(async () => {
    await sandbox.app.close()
    receiver.close()
  })
  beforeEach(() => {
    sandbox.reset()
    received.length = 0
  })

  function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    return fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${KEY}`,
        'cal-api-version': '2024-08-13',
        'content-type': 'application/json',
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  }
  const book = (start: string, eventTypeId = 1, extra: Record<string, unknown> = {}) =>
    call('POST', '/v2/bookings', {
      start,
      eventTypeId,
      attendee: { name: 'A', email: 'a@example.org', timeZone: 'UTC' },
      ...extra,
    })

  it('refuses requests without a key, with a wrong key, or without the 2024-08-13 version header', async () => {
    expect((await fetch(`${base}/v2/bookings`, { headers: { 'cal-api-version': '2024-08-13' } })).status).toBe(401)
    const wrong = await call('GET', '/v2/bookings', undefined, { authorization: 'Bearer cal_nope' })
    expect(wrong.status).toBe(401)
    expect((await json(wrong)).error.message).toBe('Your api key is not valid')
    const unversioned = await fetch(`${base}/v2/bookings`, { headers: { authorization: `Bearer ${KEY}` } })
    expect(unversioned.status).toBe(400)
    expect((await json(unversioned)).error.message).toContain('2024-04-15')
  })

  it('books, refuses a taken slot the way Cal.com does, and keeps hosts apart', async () => {
    const created = await book(future(10), 1, { metadata: { calsyncAppointmentId: 'apt_1' } })
    expect(created.status).toBe(201)
    const { status, data } = await json(created)
    expect(status).toBe('success')
    expect(data).toMatchObject({ status: 'accepted', eventTypeId: 1, metadata: { calsyncAppointmentId: 'apt_1' } })
    expect(data.uid).toMatch(/^[0-9A-Za-z]{22}$/)
    const taken = await book(future(10))
    expect(taken.status).toBe(400)
    expect((await json(taken)).error.message).toContain('already has booking at this time or is not available')
    expect((await book(new Date(Date.parse(future(10)) + 30 * 60_000).toISOString())).status).toBe(201)
    expect((await book(future(10), 2)).status).toBe(201)
    expect((await book(future(12), 1, { metadata: { [`k${'x'.repeat(40)}`]: 'v' } })).status).toBe(400)
    expect((await book(future(12), 1, { unknownField: true })).status).toBe(400)
    expect((await book(future(12), 9)).status).toBe(404)
  })

  it('cancels with a reason only, once; reschedules to a new uid and cancels the old one', async () => {
    const { data: booking } = await json(await book(future(9), 1, { metadata: { calsyncAppointmentId: 'apt_2' } }))
    expect((await call('POST', `/v2/bookings/${booking.uid}/cancel`, {})).status).toBe(400)
    const moved = await call('POST', `/v2/bookings/${booking.uid}/reschedule`, { start: future(11) })
    expect(moved.status).toBe(201)
    const { data: next } = await json(moved)
    expect(next.uid).not.toBe(booking.uid)
    expect(next).toMatchObject({
      rescheduledFromUid: booking.uid,
      start: future(11),
      metadata: { calsyncAppointmentId: 'apt_2' },
    })
    const { data: old } = await json(await call('GET', `/v2/bookings/${booking.uid}`))
    expect(old).toMatchObject({ status: 'cancelled', rescheduledToUid: next.uid })
    const again = await call('POST', `/v2/bookings/${booking.uid}/reschedule`, { start: future(13) })
    expect((await json(again)).error.message).toContain(next.uid)
    expect((await call('POST', `/v2/bookings/${next.uid}/cancel`, { cancellationReason: 'x' })).status).toBe(200)
    const twice = await call('POST', `/v2/bookings/${next.uid}/cancel`, { cancellationReason: 'x' })
    expect((await json(twice)).error.message).toBe('This booking has already been cancelled.')
    // Another tenant's key cannot see it.
    const other = await call('GET', `/v2/bookings/${next.uid}`, undefined, {
      authorization: 'Bearer cal_test_sandbox_key_b',
    })
    expect(other.status).toBe(404)
  })

  it('sends signed webhooks like Cal.com: created, rescheduled only (no cancel), cancelled without metadata', async () => {
    const { data: booking } = await json(await book(future(8), 1, { metadata: { calsyncAppointmentId: 'apt_3' } }))
    const { data: moved } = await json(
      await call('POST', `/v2/bookings/${booking.uid}/reschedule`, { start: future(14) }),
    )
    await call('POST', `/v2/bookings/${moved.uid}/cancel`, { cancellationReason: 'bye' })
    await sandbox.flushWebhooks()
    expect(received.map((delivery) => JSON.parse(delivery.body).triggerEvent)).toEqual([
      'BOOKING_CREATED',
      'BOOKING_RESCHEDULED',
      'BOOKING_CANCELLED',
    ])
    for (const delivery of received) {
      expect(delivery.headers['x-cal-signature-256']).toBe(
        createHmac('sha256', SECRET).update(delivery.body).digest('hex'),
      )
    }
    const [created, rescheduled, cancelled] = received.map((delivery) => JSON.parse(delivery.body).payload)
    expect(created).toMatchObject({ uid: booking.uid, eventTypeId: 1, metadata: { calsyncAppointmentId: 'apt_3' } })
    expect(created.startTime).toMatch(/T\d\d:\d\d:00Z$/)
    expect(rescheduled).toMatchObject({
      uid: moved.uid,
      rescheduleUid: booking.uid,
      metadata: { calsyncAppointmentId: 'apt_3' },
    })
    expect(cancelled).toMatchObject({ uid: moved.uid, status: 'CANCELLED', cancellationReason: 'bye' })
    expect(cancelled.metadata).toBeUndefined()
  })

  it('rate-limits per key with X-RateLimit headers and no Retry-After', async () => {
    const limited = createCalcomSandbox({
      tenants: [
        { id: 'a', apiKey: KEY, webhookSecret: SECRET, eventTypes: [{ id: 1, resource: 'h', lengthMinutes: 30 }] },
      ],
      rateLimitPerMinute: 3,
    })
    await limited.app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${(limited.app.server.address() as { port: number }).port}/v2/bookings`
    const headers = { authorization: `Bearer ${KEY}`, 'cal-api-version': '2024-08-13' }
    const statuses: number[] = []
    let last: Response | undefined
    for (let i = 0; i < 4; i++) {
      last = await fetch(url, { headers })
      statuses.push(last.status)
    }
    await limited.app.close()
    expect(statuses).toEqual([200, 200, 200, 429])
    expect(last?.headers.get('x-ratelimit-remaining-default')).toBe('0')
    expect(Number(last?.headers.get('x-ratelimit-reset-default'))).toBeGreaterThan(0)
    expect(last?.headers.get('retry-after')).toBeNull()
    expect((await json(last)).error.code).toBe('ThrottlerException')
  })

  it('injects faults: statuses, a hang until the client gives up, and a lost answer after the commit', async () => {
    sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { status: 503 }, 1)
    expect((await book(future(7))).status).toBe(503)
    sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { hang: true }, 1)
    await expect(
      fetch(`${base}/v2/bookings`, {
        method: 'POST',
        signal: AbortSignal.timeout(300),
        headers: { authorization: `Bearer ${KEY}`, 'cal-api-version': '2024-08-13' },
      }),
    ).rejects.toThrow()
    sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { commitThenDrop: true }, 1)
    await expect(book(future(7))).rejects.toThrow()
    await eventually('the committed booking', async () => (sandbox.bookings().length === 1 ? true : undefined))
    await sandbox.flushWebhooks()
    expect(received).toHaveLength(1)
    const log = sandbox.requests()
    expect(log.every((record) => record.tenantId === 'a')).toBe(true)
    expect(JSON.stringify(log)).not.toContain(KEY)
  })
})
