import { sandboxTenantsFrom } from '@calsync/calcom-sandbox'
import { parseTenantsFile } from '@calsync/service-kit'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { TENANTS_YAML } from '../../../test/support/tenants.ts'
import {
  ACME,
  ACME_KEY,
  BRIGHT,
  BRIGHT_KEY,
  futureSlot,
  type Receiver,
  type SandboxHarness,
  startReceiver,
  startSandbox,
  TEST_SECRETS,
  testTenants,
} from './support/sandbox-harness.ts'

describe('control API', () => {
  let h: SandboxHarness
  let receiver: Receiver
  beforeAll(async () => {
    receiver = await startReceiver()
    h = await startSandbox({ tenants: testTenants({ acme: receiver.url() }), rateLimitPerMinute: 5 })
  })
  afterAll(async () => {
    await h.close()
    await receiver.close()
  })
  beforeEach(async () => {
    await h.sandbox.flushWebhooks()
    h.sandbox.reset()
  })

  it('logs every API request with its tenant, status, traceparent and version, never the key', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const created = await h.book(futureSlot(0, 10), {}, undefined)
    await h.call('GET', `/v2/bookings/${created.body.data.uid}`, { headers: { traceparent } })
    await h.call('GET', '/v2/bookings', { key: 'cal_test_unknown' })
    await h.call('GET', '/v2/bookings?take=1', { key: BRIGHT_KEY, version: '2024-04-15' })
    const log = (await h.control('GET', '/requests')).body
    expect(log).toMatchObject([
      {
        method: 'POST',
        path: '/v2/bookings',
        tenantId: ACME,
        status: 201,
        traceparent: null,
        calApiVersion: '2024-08-13',
        body: { start: futureSlot(0, 10), eventTypeId: 1001 },
        fault: null,
      },
      { method: 'GET', status: 200, traceparent, body: null },
      { tenantId: null, status: 401 },
      { path: '/v2/bookings?take=1', tenantId: BRIGHT, status: 400, calApiVersion: '2024-04-15' },
    ])
    for (const record of log) expect(Number.isNaN(Date.parse(record.at))).toBe(false)
    const text = JSON.stringify(log)
    for (const secret of Object.values(TEST_SECRETS)) expect(text).not.toContain(secret)
    // The control API itself is not logged.
    expect(log).toHaveLength(4)
  })

  it('shows every tenant’s bookings, cancelled ones included, optionally for one tenant', async () => {
    const kept = (await h.book(futureSlot(0, 10))).body.data
    const dropped = (await h.book(futureSlot(0, 11))).body.data
    await h.cancel(dropped.uid)
    await h.book(futureSlot(0, 10), { eventTypeId: 2001 }, BRIGHT_KEY)
    const all = (await h.control('GET', '/bookings')).body
    expect(all).toHaveLength(3)
    expect(all.find((booking: { uid: string }) => booking.uid === dropped.uid)).toMatchObject({ status: 'cancelled' })
    const acme = (await h.control('GET', `/bookings?tenantId=${ACME}`)).body
    expect(acme.map((booking: { uid: string }) => booking.uid).sort()).toEqual([kept.uid, dropped.uid].sort())
    expect(h.sandbox.bookings(BRIGHT)).toHaveLength(1)
    expect(h.sandbox.store.get(kept.uid)?.tenantId).toBe(ACME)
  })

  it('resets bookings, logs, deliveries, faults and rate-limit counters', async () => {
    const booking = (await h.book(futureSlot(0, 10))).body.data
    await h.sandbox.flushWebhooks()
    h.sandbox.addFault({ method: 'DELETE' }, { status: 500 }, 3)
    for (let i = 0; i < 5; i++) await h.call('GET', '/v2/bookings')
    expect((await h.call('GET', '/v2/bookings')).status).toBe(429)
    expect((await h.control('GET', '/webhooks')).body).toHaveLength(1)

    expect((await h.control('POST', '/reset')).body).toEqual({ status: 'reset' })
    for (const path of ['/bookings', '/requests', '/webhooks', '/faults']) {
      expect((await h.control('GET', path)).body, path).toEqual([])
    }
    expect((await h.call('GET', `/v2/bookings/${booking.uid}`)).status).toBe(404)
    expect((await h.book(futureSlot(0, 10))).status).toBe(201)
  })

  it('lifts one tenant’s faults, or all, and nothing else', async () => {
    const booking = (await h.book(futureSlot(0, 10))).body.data
    h.sandbox.addFault({ tenantId: ACME }, { status: 500 }, 3)
    h.sandbox.addFault({ tenantId: BRIGHT }, { status: 503 }, 2)
    expect((await h.control('DELETE', `/faults?tenantId=${ACME}`)).body).toEqual({ status: 'cleared', cleared: 1 })
    expect((await h.control('GET', '/faults')).body).toMatchObject([{ match: { tenantId: BRIGHT }, remaining: 2 }])
    expect((await h.call('GET', `/v2/bookings/${booking.uid}`)).status).toBe(200)
    expect((await h.control('DELETE', '/faults')).body).toEqual({ status: 'cleared', cleared: 1 })
    expect((await h.control('GET', '/faults')).body).toEqual([])
    expect((await h.control('GET', '/bookings')).body).toHaveLength(1)
  })

  it('flushes webhooks over HTTP too', async () => {
    await h.book(futureSlot(0, 10))
    const flushed = await h.control('POST', '/webhooks/flush')
    expect(flushed.body).toMatchObject([{ trigger: 'BOOKING_CREATED', status: 200, ok: true }])
  })

  it('builds sandbox tenants from calsync tenant records and a URL template', () => {
    const records = parseTenantsFile(TENANTS_YAML, TEST_SECRETS, 'test tenants')
    const tenants = sandboxTenantsFrom(records, 'http://127.0.0.1:8080/webhooks/calcom/{tenantId}')
    expect(tenants).toEqual([
      {
        id: ACME,
        apiKey: ACME_KEY,
        webhookSecret: TEST_SECRETS.ACME_WEBHOOK_SECRET,
        eventTypes: [
          { id: 1001, resource: 'dr-jones', lengthMinutes: 30 },
          { id: 1002, resource: 'hygiene-room', lengthMinutes: 45 },
        ],
        webhookUrl: `http://127.0.0.1:8080/webhooks/calcom/${ACME}`,
      },
      expect.objectContaining({ id: BRIGHT, webhookUrl: `http://127.0.0.1:8080/webhooks/calcom/${BRIGHT}` }),
    ])
    expect(sandboxTenantsFrom(records).map((tenant) => tenant.webhookUrl)).toEqual([undefined, undefined])
  })
})
