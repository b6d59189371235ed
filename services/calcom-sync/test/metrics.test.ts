import { startTelemetry, type Telemetry } from '@calsync/service-kit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { type Scrape, scrapeApp } from '../../../test/support/prometheus.ts'
import { type Stack, startStack } from '../../../test/support/stack.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { CAL_API_VERSION } from '../src/calcom/calcom-client.ts'
import { SYNC_LATENCY_BUCKETS_SECONDS } from '../src/metrics.ts'

const PHONE = TEST_SECRETS.ACME_PHONE_TOKEN
const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const attendee = { name: 'Ivo Berg', email: 'ivo@example.org', timeZone: 'Europe/Amsterdam' }
const ATTEMPTS = 'calsync_sync_attempts_total'

describe('calcom-sync metrics on GET /metrics', () => {
  let stack: Stack
  let telemetry: Telemetry
  beforeAll(async () => {
    telemetry = startTelemetry({ serviceName: 'calcom-sync-metrics-test' })
    stack = await startStack()
  })
  afterAll(async () => {
    await stack.close()
    await telemetry.shutdown()
  })

  const scrapeUntil = (what: string, check: (scrape: Scrape) => boolean) =>
    eventually(what, async () => {
      const scrape = await scrapeApp(stack.syncApp)
      return check(scrape) ? scrape : undefined
    })

  async function book(start: string): Promise<string> {
    const response = await stack.appointments.api(PHONE, 'POST', '/v1/appointments', {
      eventTypeId: 1001,
      start,
      attendee,
    })
    expect(response.statusCode).toBe(201)
    return response.json().id
  }

  async function syncStatus(id: string): Promise<string> {
    return (await stack.appointments.api(ADMIN, 'GET', `/v1/appointments/${id}/sync-status`)).json().status
  }

  it('counts a retried then successful sync, and observes its latency from the change', async () => {
    stack.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { status: 503 }, 1)
    const id = await book(futureSlot(0, 9))
    await eventually('the appointment synced', async () => ((await syncStatus(id)) === 'synced' ? true : undefined))

    const scrape = await scrapeUntil('the success counted', (s) => s.value(ATTEMPTS, { outcome: 'succeeded' }) === 1)
    expect(scrape.types.get(ATTEMPTS)).toBe('counter')
    expect(scrape.value(ATTEMPTS, { outcome: 'retrying', error_code: 'calcom_server_error' })).toBe(1)
    expect(scrape.value(ATTEMPTS, { outcome: 'succeeded', error_code: 'none' })).toBe(1)
    expect(scrape.types.get('calsync_sync_latency_seconds')).toBe('histogram')
    expect(scrape.value('calsync_sync_latency_seconds_count')).toBe(1)
    expect(scrape.value('calsync_sync_latency_seconds_sum')).toBeGreaterThan(0)
    const bounds = scrape.samples
      .filter((sample) => sample.name === 'calsync_sync_latency_seconds_bucket')
      .map((sample) => sample.labels.le)
    expect(bounds).toEqual([...SYNC_LATENCY_BUCKETS_SECONDS.map(String), '+Inf'])
  })

  it('counts a terminal failure with its error code', async () => {
    stack.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { status: 401 }, 1)
    const id = await book(futureSlot(1, 9))
    await eventually('the sync to fail', async () => ((await syncStatus(id)) === 'failed' ? true : undefined))
    await scrapeUntil('the failure counted', (s) => s.value(ATTEMPTS, { outcome: 'failed' }) === 1)
    expect((await scrapeApp(stack.syncApp)).value(ATTEMPTS, { error_code: 'calcom_unauthorized' })).toBe(1)
  })

  it('counts a change that came from Cal.com as skipped, without calling Cal.com (I5)', async () => {
    // A customer books on Cal.com: the sandbox answers, then sends its signed webhook to the gateway.
    const response = await fetch(`${stack.sandboxUrl}/v2/bookings`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_SECRETS.ACME_CALCOM_API_KEY}`,
        'cal-api-version': CAL_API_VERSION,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ start: futureSlot(2, 9), eventTypeId: 1001, attendee }),
    })
    expect(response.status).toBe(201)
    const callsBefore = stack.sandbox.requests().length
    const scrape = await scrapeUntil('the skip counted', (s) => s.value(ATTEMPTS, { outcome: 'skipped' }) === 1)
    expect(scrape.value(ATTEMPTS, { outcome: 'skipped', error_code: 'none' })).toBe(1)
    expect(stack.sandbox.requests()).toHaveLength(callsBefore)
  })

  it('reports the backlog of its durable consumer', async () => {
    await eventually('the sync consumer to drain', async () => {
      const scrape = await scrapeApp(stack.syncApp)
      const labels = { stream: stack.syncOptions.definition.stream, consumer: stack.syncOptions.definition.durable }
      return scrape.value('calsync_consumer_pending', labels) === 0 &&
        scrape.value('calsync_consumer_ack_pending', labels) === 0
        ? true
        : undefined
    })
  })
})
