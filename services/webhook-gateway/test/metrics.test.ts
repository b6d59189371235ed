import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook } from '../../../test/support/calcom-webhooks.ts'
import { scrapeApp } from '../../../test/support/prometheus.ts'
import { ACME, BRIGHT, futureSlot } from '../../../test/support/tenants.ts'
import { type GatewayHarness, startGatewayHarness } from './support/gateway-harness.ts'

const NOW = new Date('2031-05-05T09:00:00.000Z')
let counter = 0
const booking = (eventTypeId = 1001) =>
  JSON.stringify(
    bookingWebhook('BOOKING_CREATED', {
      uid: `metrics-${++counter}`,
      eventTypeId,
      start: futureSlot(),
      createdAt: NOW.toISOString(),
    }),
  )

describe('gateway metrics on GET /metrics', () => {
  let gateway: GatewayHarness
  beforeAll(async () => {
    gateway = await startGatewayHarness({ clock: () => NOW })
  })
  afterAll(() => gateway.close())

  it('counts accepted deliveries by tenant and trigger, and every refusal by the error code answered', async () => {
    const accepted = booking()
    expect((await gateway.post(ACME, accepted)).statusCode).toBe(202)
    expect((await gateway.post(ACME, accepted)).statusCode).toBe(200)
    const ping = JSON.stringify({ triggerEvent: 'PING', createdAt: NOW.toISOString(), payload: {} })
    expect((await gateway.post(BRIGHT, ping)).statusCode).toBe(200)

    expect((await gateway.post(ACME, booking(), { signature: 'f'.repeat(64) })).statusCode).toBe(401)
    expect((await gateway.post(ACME, booking(), { signature: null })).statusCode).toBe(401)
    // BRIGHT's event type under ACME's own valid signature: the cross-tenant attack (I6).
    expect((await gateway.post(ACME, booking(2001))).statusCode).toBe(403)
    expect((await gateway.post('no-such-tenant', booking())).statusCode).toBe(404)
    // Refused by Fastify before the handler runs, yet counted all the same.
    expect((await gateway.post(ACME, booking(), { contentType: 'text/plain' })).statusCode).toBe(415)
    expect((await gateway.post(ACME, `{"pad":"${'x'.repeat(300 * 1024)}"}`)).statusCode).toBe(413)

    const scrape = await scrapeApp(gateway.app)
    expect(scrape.types.get('calsync_webhooks_received_total')).toBe('counter')
    expect(scrape.value('calsync_webhooks_received_total', { tenant: ACME, trigger: 'BOOKING_CREATED' })).toBe(2)
    expect(scrape.value('calsync_webhooks_received_total', { tenant: BRIGHT, trigger: 'PING' })).toBe(1)
    expect(scrape.types.get('calsync_webhooks_rejected_total')).toBe('counter')
    const rejected = (reason: string) => scrape.value('calsync_webhooks_rejected_total', { reason })
    expect(rejected('invalid_signature')).toBe(1)
    expect(rejected('missing_signature')).toBe(1)
    expect(rejected('foreign_event_type')).toBe(1)
    expect(rejected('unknown_tenant')).toBe(1)
    expect(rejected('unsupported_media_type')).toBe(1)
    expect(rejected('payload_too_large')).toBe(1)
    // Every request ended in exactly one of the two counters.
    expect(
      (scrape.value('calsync_webhooks_received_total') ?? 0) + (scrape.value('calsync_webhooks_rejected_total') ?? 0),
    ).toBe(9)
  })

  it('serves /metrics without a signature or token', async () => {
    const response = await gateway.app.inject({ method: 'GET', url: '/metrics' })
    expect(response.statusCode).toBe(200)
    expect(response.body).toContain('target_info{service_name="webhook-gateway"')
  })
})
