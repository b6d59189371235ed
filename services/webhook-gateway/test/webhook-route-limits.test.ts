import { streamDefinitions } from '@calsync/contracts'
import { ensureStream } from '@calsync/service-kit'
import { afterEach, describe, expect, it } from 'vitest'
import { bookingWebhook } from '../../../test/support/calcom-webhooks.ts'
import { ACME, BRIGHT, futureSlot } from '../../../test/support/tenants.ts'
import { type GatewayHarness, startGatewayHarness } from './support/gateway-harness.ts'

const ping = (createdAt: string) => JSON.stringify({ triggerEvent: 'PING', createdAt, payload: {} })

describe('webhook route under load and outage', () => {
  const harnesses: GatewayHarness[] = []
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((harness) => harness.close()))
  })

  it("answers 429 with Retry-After once a tenant's budget is spent, without touching other tenants", async () => {
    let now = new Date('2031-03-03T09:00:00.000Z')
    const gateway = await startGatewayHarness({ rateLimitPerMinute: 3, clock: () => now })
    harnesses.push(gateway)

    for (let i = 0; i < 3; i++) expect((await gateway.post(ACME, ping(now.toISOString()))).statusCode).toBe(200)
    const limited = await gateway.post(ACME, ping(now.toISOString()))
    expect(limited.statusCode).toBe(429)
    expect(limited.json().error).toBe('rate_limited')
    // 3 per minute refills one request every 20 seconds.
    expect(limited.headers['retry-after']).toBe('20')

    // A forged request is refused on its signature and cannot spend anyone's budget.
    expect((await gateway.post(BRIGHT, ping(now.toISOString()), { signature: 'f'.repeat(64) })).statusCode).toBe(401)
    expect((await gateway.post(BRIGHT, ping(now.toISOString()))).statusCode).toBe(200)

    now = new Date(now.getTime() + 20_000)
    expect((await gateway.post(ACME, ping(now.toISOString()))).statusCode).toBe(200)
    expect((await gateway.post(ACME, ping(now.toISOString()))).statusCode).toBe(429)
  })

  it('answers 503 unavailable, not 2xx, when JetStream has no stream to take the webhook', async () => {
    const gateway = await startGatewayHarness({ createStreams: false })
    harnesses.push(gateway)
    for (const eventTypeId of [1001, 987654]) {
      const raw = JSON.stringify(
        bookingWebhook('BOOKING_CREATED', { uid: `bk-${eventTypeId}`, eventTypeId, start: futureSlot() }),
      )
      const response = await gateway.post(ACME, raw)
      expect(response.statusCode).toBe(503)
      expect(response.json()).toEqual({ error: 'unavailable', message: 'the webhook could not be queued; retry later' })
    }
    expect(gateway.logLines().some((line) => line.msg === 'cal.com webhook could not be queued')).toBe(true)

    // Once the stream exists the same delivery goes through: Cal.com's retry is not lost (I3).
    const streams = streamDefinitions(gateway.names)
    for (const stream of [streams.webhooks, streams.review]) await ensureStream(gateway.jsm, stream)
    const raw = JSON.stringify(
      bookingWebhook('BOOKING_CREATED', { uid: 'bk-late', eventTypeId: 1001, start: futureSlot() }),
    )
    expect((await gateway.post(ACME, raw)).statusCode).toBe(202)
  })

  it('answers 503 unavailable when the NATS connection is gone', async () => {
    const gateway = await startGatewayHarness()
    harnesses.push(gateway)
    await gateway.nc.close()
    const raw = JSON.stringify(
      bookingWebhook('BOOKING_CREATED', { uid: 'bk-closed', eventTypeId: 1001, start: futureSlot() }),
    )
    const response = await gateway.post(ACME, raw)
    expect(response.statusCode).toBe(503)
    expect(response.json().error).toBe('unavailable')
  })
})
