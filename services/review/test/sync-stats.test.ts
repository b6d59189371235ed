import type { AppointmentEvent } from '@calsync/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { ACME, BRIGHT, futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from '../../appointments/test/support/harness.ts'
import { createSyncReporter } from '../../calcom-sync/src/sync/sync-reporter.ts'
import { nearestRank } from '../src/stats/sync-results-store.ts'
import { REVIEW_ADMIN_TOKEN, type ReviewHarness, startReviewHarness } from './support/review-harness.ts'

const attendee = { name: 'Ola', email: 'ola@example.org', timeZone: 'UTC' }
/** change → Cal.com latency of the ten successful syncs, in ms. Sorted: 30 45 60 80 95 120 150 210 300 500. */
const LATENCIES = [120, 80, 45, 300, 95, 60, 150, 210, 30, 500]

describe('sync stats', () => {
  let h: AppointmentsHarness
  let r: ReviewHarness
  beforeAll(async () => {
    h = await startAppointmentsHarness()
    r = await startReviewHarness({ names: h.names })
  })
  afterAll(async () => {
    await r?.close()
    await h?.close()
  })

  const stats = async (token: string, window?: string) => {
    const response = await r.api(token, 'GET', `/v1/stats/sync${window ? `?window=${window}` : ''}`)
    expect(response.statusCode, response.body).toBe(200)
    return response.json()
  }
  const idle = () => eventually('review consumers idle', async () => ((await r.consumersIdle()) ? true : undefined))

  it('reports counts, success rate, latency percentiles and failures by code of a known scenario', async () => {
    const events: AppointmentEvent[] = []
    for (let index = 0; index < 12; index++) {
      const created = await h.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'POST', '/v1/appointments', {
        eventTypeId: index % 2 === 0 ? 1001 : 1002,
        start: futureSlot(5 + Math.floor(index / 2), 10),
        attendee,
      })
      expect(created.statusCode).toBe(201)
      const id: string = created.json().id
      events.push((await eventually('the booked event', async () => (await h.events(id))[0])).body)
    }
    // As calcom-sync reports them: ten succeed after a known delay, two fail for good.
    for (const [index, event] of events.entries()) {
      const latency = LATENCIES[index]
      const clock = () => new Date(Date.parse(event.occurredAt) + (latency ?? 0))
      const reporter = createSyncReporter({ js: h.js, names: h.names, clock })
      if (latency !== undefined) await reporter.succeeded(event, 1, `bk_stats_${index}`)
      else await reporter.failed(event, 4, 'calcom_server_error', 'Cal.com answered 502', null)
    }
    for (const [index, event] of events.entries()) {
      const expected = index < LATENCIES.length ? 'synced' : 'failed'
      await eventually(`appointment ${index} ${expected}`, async () => {
        const response = await h.api(
          TEST_SECRETS.ACME_ADMIN_TOKEN,
          'GET',
          `/v1/appointments/${event.appointmentId}/sync-status`,
        )
        return response.json().status === expected ? true : undefined
      })
    }
    await idle()

    expect(await stats(REVIEW_ADMIN_TOKEN, '24h')).toEqual({
      total: 12,
      synced: 10,
      pending: 0,
      failed: 2,
      conflict: 0,
      successRate: 10 / 12,
      latencyMs: { p50: 95, p95: 500, p99: 500 },
      failuresByCode: { calcom_server_error: 2 },
    })
    expect(await stats(TEST_SECRETS.ACME_PHONE_TOKEN)).toMatchObject({ total: 12, synced: 10, failed: 2 })
  })

  it('counts only what lies in the window and in the tenant of the token', async () => {
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000)
    await r.publishSyncResult({
      type: 'sync.succeeded',
      tenantId: ACME,
      appointmentId: 'apt_long_ago',
      version: 1,
      attempt: 1,
      at: twoDaysAgo.toISOString(),
      changedAt: new Date(twoDaysAgo.getTime() - 99_999).toISOString(),
      calcomBookingUid: 'bk_old',
    })
    await r.publishSyncResult({
      type: 'sync.attempt_failed',
      tenantId: ACME,
      appointmentId: 'apt_retrying',
      version: 1,
      attempt: 1,
      at: new Date().toISOString(),
      errorCode: 'calcom_timeout',
      errorMessage: 'timed out',
    })
    await r.publishSyncResult({
      type: 'sync.failed',
      tenantId: BRIGHT,
      appointmentId: 'apt_bright',
      version: 1,
      attempt: 1,
      at: new Date().toISOString(),
      errorCode: 'calcom_unauthorized',
      errorMessage: 'bad API key',
    })
    await idle()

    const day = await stats(REVIEW_ADMIN_TOKEN)
    expect(day.latencyMs).toEqual({ p50: 95, p95: 500, p99: 500 })
    expect(day.failuresByCode).toEqual({ calcom_server_error: 2, calcom_unauthorized: 1 })
    const acme = await stats(TEST_SECRETS.ACME_PHONE_TOKEN, '24h')
    expect(acme.failuresByCode).toEqual({ calcom_server_error: 2 })
    const bright = await stats(TEST_SECRETS.BRIGHT_API_TOKEN, '24h')
    expect(bright).toMatchObject({
      total: 0,
      successRate: null,
      latencyMs: { p50: null, p95: null, p99: null },
      failuresByCode: { calcom_unauthorized: 1 },
    })
    // Eleven latencies in a week: 30 45 60 80 95 120 150 210 300 500 99999.
    const week = await stats(REVIEW_ADMIN_TOKEN, '7d')
    expect(week.latencyMs).toEqual({ p50: 120, p95: 99_999, p99: 99_999 })
    expect((await stats(REVIEW_ADMIN_TOKEN, '30d')).total).toBe(12)
  })

  it('refuses a window that is not a duration up to 30 days', async () => {
    for (const window of ['0m', '31d', '1w', '24', 'h', '-1h', '720h1']) {
      const response = await r.api(REVIEW_ADMIN_TOKEN, 'GET', `/v1/stats/sync?window=${window}`)
      expect(response.statusCode, window).toBe(400)
      expect(response.json().error).toBe('bad_request')
    }
    expect((await r.api(REVIEW_ADMIN_TOKEN, 'GET', '/v1/stats/sync?window=720h')).statusCode).toBe(200)
  })

  it('states the form of a window in the API document', async () => {
    // Before, the document said only "a string of at most 16": schemathesis's valid-by-the-document
    // windows were mostly refused. Now the form is there; only the range is left to the handler.
    const document = (await r.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    const [window] = document.paths['/v1/stats/sync'].get.parameters.filter(
      (parameter: { name: string; in: string }) => parameter.name === 'window' && parameter.in === 'query',
    )
    const form = new RegExp(window.schema.pattern, 'u')
    for (const text of ['15m', '24h', '7d', '30d', '720h', '0m', '31d', '999999d'])
      expect(form.test(text), text).toBe(true)
    for (const text of ['1w', '24', 'h', '-1h', '720h1', ' 1h', '1h ', '1.5h', '１h']) {
      expect(form.test(text), text).toBe(false)
      const response = await r.api(REVIEW_ADMIN_TOKEN, 'GET', `/v1/stats/sync?window=${encodeURIComponent(text)}`)
      expect(response.statusCode, text).toBe(400)
    }
  })

  it('ranks percentiles by nearest rank', () => {
    expect([50, 95, 99].map((p) => nearestRank(p, 10))).toEqual([5, 10, 10])
    expect([50, 95, 99].map((p) => nearestRank(p, 11))).toEqual([6, 11, 11])
    expect([50, 95, 99].map((p) => nearestRank(p, 1))).toEqual([1, 1, 1])
    expect(nearestRank(95, 100)).toBe(95)
  })
})
