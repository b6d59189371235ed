import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import {
  createConformance,
  expectEveryRouteDocumented,
  fetchValidDocument,
  recordRoutes,
} from '../../../test/support/openapi.ts'
import { ACME, futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from '../../appointments/test/support/harness.ts'
import { createSyncReporter } from '../../calcom-sync/src/sync/sync-reporter.ts'
import { REVIEW_ADMIN_TOKEN, type ReviewHarness, startReviewHarness } from './support/review-harness.ts'

const attendee = { name: 'Mia', email: 'mia@example.org', timeZone: 'UTC' }

describe('the review OpenAPI document', () => {
  let h: AppointmentsHarness
  let r: ReviewHarness
  let registered: string[]
  beforeAll(async () => {
    h = await startAppointmentsHarness()
    r = await startReviewHarness({ names: h.names })
    registered = recordRoutes(r.app)
    await r.app.ready()
  })
  afterAll(async () => {
    await r?.close()
    await h?.close()
  })

  it('is valid OpenAPI 3.1 and lists exactly the routes the app registers', async () => {
    expect(registered).toEqual(expect.arrayContaining(['GET /v1/review-items', 'POST /v1/reconcile', 'GET /']))
    const document = await expectEveryRouteDocumented(r.app, registered, 'calsync review API')
    const security = document.components as { securitySchemes: Record<string, { description: string }> }
    expect(security.securitySchemes.bearerAuth?.description).toContain('CALSYNC_ADMIN_TOKEN')
  })

  it('states every answer the routes give, success and refusal alike', async () => {
    const expectConforms = createConformance(await fetchValidDocument(r.app))
    const call = async (
      method: 'GET' | 'POST',
      route: string,
      url: string,
      body?: unknown,
      token: string = REVIEW_ADMIN_TOKEN,
    ) => {
      const response = await r.api(token, method, url, body)
      expectConforms(method, route, response)
      return response
    }
    const created = await h.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'POST', '/v1/appointments', {
      eventTypeId: 1001,
      start: futureSlot(8, 9),
      attendee,
    })
    const appointmentId: string = created.json().id
    const booked = (await eventually('the booked event', async () => (await h.events(appointmentId))[0])).body
    await createSyncReporter({ js: h.js, names: h.names }).failed(
      booked,
      4,
      'calcom_server_error',
      'Cal.com answered 502',
      null,
    )
    const item = await eventually('the review item', () => r.itemOf(`sync_failed:${ACME}:${appointmentId}`))

    expect((await call('GET', '/v1/review-items', '/v1/review-items?status=open&limit=5')).statusCode).toBe(200)
    expect((await call('GET', '/v1/review-items', '/v1/review-items?cursor=nope')).statusCode).toBe(400)
    expect((await call('GET', '/v1/review-items', '/v1/review-items', undefined, 'not-a-token')).statusCode).toBe(401)
    expect((await call('GET', '/v1/review-items/:id', `/v1/review-items/${item.id}`)).statusCode).toBe(200)
    expect((await call('GET', '/v1/review-items/:id', '/v1/review-items/rv_missing')).statusCode).toBe(404)
    // NUL is no text the database stores: refused by the schema, not a 500 from below.
    expect((await call('GET', '/v1/review-items/:id', '/v1/review-items/rv%00x')).statusCode).toBe(400)
    expect((await call('GET', '/v1/review-items/:id/history', `/v1/review-items/${item.id}/history`)).statusCode).toBe(
      200,
    )
    expect((await call('POST', '/v1/review-items/:id/retry', `/v1/review-items/${item.id}/retry`)).statusCode).toBe(200)
    expect((await call('POST', '/v1/review-items/:id/retry', '/v1/review-items/rv_missing/retry')).statusCode).toBe(404)
    const resolveUrl = `/v1/review-items/${item.id}/resolve`
    expect((await call('POST', '/v1/review-items/:id/resolve', resolveUrl, { note: ' ' })).statusCode).toBe(400)
    expect(
      (await call('POST', '/v1/review-items/:id/resolve', resolveUrl, { note: 'called the patient' })).statusCode,
    ).toBe(200)
    expect((await call('POST', '/v1/review-items/:id/resolve', resolveUrl, { note: 'again' })).statusCode).toBe(409)
    expect((await call('POST', '/v1/review-items/:id/retry', `/v1/review-items/${item.id}/retry`)).statusCode).toBe(409)
    expect((await call('GET', '/v1/stats/sync', '/v1/stats/sync?window=7d')).statusCode).toBe(200)
    expect((await call('GET', '/v1/stats/sync', '/v1/stats/sync?window=forever')).statusCode).toBe(400)
    expect((await call('POST', '/v1/resync', '/v1/resync', { olderThanSeconds: 0, dryRun: true })).statusCode).toBe(200)
    expect((await call('POST', '/v1/resync', '/v1/resync', { olderThanSeconds: 1e12, dryRun: true })).statusCode).toBe(
      400,
    )
    expect((await call('POST', '/v1/reconcile', '/v1/reconcile', { dryRun: true, extra: 1 })).statusCode).toBe(400)
    const foreign = await call(
      'POST',
      '/v1/reconcile',
      '/v1/reconcile',
      { tenantId: 'bright-clinic', dryRun: true },
      TEST_SECRETS.ACME_ADMIN_TOKEN,
    )
    expect(foreign.statusCode).toBe(404)
    expect((await call('GET', '/', '/')).statusCode).toBe(200)
    expect((await call('GET', '/healthz', '/healthz')).statusCode).toBe(200)
  })
})
