import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ReviewRequest } from '@calsync/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { LOG_DIR } from '../../../test/support/logs.ts'
import { ACME, BRIGHT, futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from '../../appointments/test/support/harness.ts'
import type { ReviewItemView } from '../src/items/review-item.ts'
import { REVIEW_ADMIN_TOKEN, type ReviewHarness, startReviewHarness } from './support/review-harness.ts'

const ACME_TOKEN = TEST_SECRETS.ACME_PHONE_TOKEN
const BRIGHT_TOKEN = TEST_SECRETS.BRIGHT_API_TOKEN
const WRONG_TOKEN = 'not-a-token-of-anyone-9f8e7d'
const attendee = { name: 'Kim', email: 'kim@example.org', timeZone: 'UTC' }

function failure(tenantId: string, appointmentId: string, at = new Date()): ReviewRequest {
  return {
    type: 'review.requested',
    kind: 'sync_failed',
    causeId: `sync_failed:${tenantId}:${appointmentId}`,
    tenantId,
    appointmentIds: [appointmentId],
    errorCode: 'calcom_server_error',
    errorMessage: 'Cal.com answered 500',
    attempts: 4,
    at: at.toISOString(),
    detail: {},
  }
}

describe('tenant isolation and authentication of the review API', () => {
  let h: AppointmentsHarness
  let r: ReviewHarness
  let acmeItem: ReviewItemView
  let brightItem: ReviewItemView
  let unknownItem: ReviewItemView
  let acmeAppointment: string
  let brightAppointment: string

  beforeAll(async () => {
    h = await startAppointmentsHarness()
    r = await startReviewHarness({ names: h.names })
    const acme = await h.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'POST', '/v1/appointments', {
      eventTypeId: 1001,
      start: futureSlot(3, 10),
      attendee,
    })
    const bright = await h.api(BRIGHT_TOKEN, 'POST', '/v1/appointments', {
      eventTypeId: 2001,
      start: futureSlot(3, 10),
      attendee,
    })
    acmeAppointment = acme.json().id
    brightAppointment = bright.json().id
    await r.publishReview(failure(ACME, acmeAppointment))
    await r.publishReview(failure(BRIGHT, brightAppointment))
    await r.publishReview({
      ...failure('unknown', 'none'),
      kind: 'poison_message',
      causeId: 'poison:SOMEWHERE:1',
      appointmentIds: [],
    })
    acmeItem = await eventually('the acme item', () => r.itemOf(`sync_failed:${ACME}:${acmeAppointment}`))
    brightItem = await eventually('the bright item', () => r.itemOf(`sync_failed:${BRIGHT}:${brightAppointment}`))
    unknownItem = await eventually('the unknown-tenant item', () => r.itemOf('poison:SOMEWHERE:1'))
  })
  afterAll(async () => {
    await r?.close()
    await h?.close()
  })

  const ids = (body: { items: ReviewItemView[] }) => body.items.map((item) => item.id).sort()

  it('lists only the tenant’s own items for a tenant token, and every tenant’s for the operator', async () => {
    const acme = await r.api(ACME_TOKEN, 'GET', '/v1/review-items')
    expect(acme.statusCode).toBe(200)
    expect(ids(acme.json())).toEqual([acmeItem.id])
    const bright = await r.api(BRIGHT_TOKEN, 'GET', '/v1/review-items?status=open')
    expect(ids(bright.json())).toEqual([brightItem.id])
    const admin = await r.api(REVIEW_ADMIN_TOKEN, 'GET', '/v1/review-items')
    expect(ids(admin.json())).toEqual([acmeItem.id, brightItem.id, unknownItem.id].sort())
    const kinds = await r.api(REVIEW_ADMIN_TOKEN, 'GET', '/v1/review-items?kind=poison_message')
    expect(ids(kinds.json())).toEqual([unknownItem.id])
  })

  it('answers 404 for another tenant’s item on get, retry and resolve, and changes nothing', async () => {
    const get = await r.api(ACME_TOKEN, 'GET', `/v1/review-items/${brightItem.id}`)
    expect(get.statusCode).toBe(404)
    expect(get.json().error).toBe('not_found')
    const retry = await r.api(ACME_TOKEN, 'POST', `/v1/review-items/${brightItem.id}/retry`)
    expect(retry.statusCode).toBe(404)
    const resolve = await r.api(ACME_TOKEN, 'POST', `/v1/review-items/${brightItem.id}/resolve`, { note: 'not mine' })
    expect(resolve.statusCode).toBe(404)
    expect(await r.api(BRIGHT_TOKEN, 'GET', `/v1/review-items/${acmeItem.id}`)).toMatchObject({ statusCode: 404 })
    expect(await r.api(ACME_TOKEN, 'GET', `/v1/review-items/${unknownItem.id}`)).toMatchObject({ statusCode: 404 })
    const untouched = await r.api(BRIGHT_TOKEN, 'GET', `/v1/review-items/${brightItem.id}`)
    expect(untouched.json()).toMatchObject({ status: 'open', note: null, retry: null })
    const redrives = (await h.events(brightAppointment)).filter((e) => e.body.type === 'appointment.sync_requested')
    expect(redrives).toHaveLength(0)
  })

  it('lets a tenant retry its own item: the re-drive carries its tenant', async () => {
    const retry = await r.api(ACME_TOKEN, 'POST', `/v1/review-items/${acmeItem.id}/retry`)
    expect(retry.statusCode).toBe(200)
    expect(retry.json().dispatched).toBe(1)
    const redrive = await eventually('the acme re-drive', async () =>
      (await h.events(acmeAppointment)).find((e) => e.body.type === 'appointment.sync_requested'),
    )
    expect(redrive.body.tenantId).toBe(ACME)
  })

  it('scopes stats and resync to the tenant of the token', async () => {
    const stats = await r.api(BRIGHT_TOKEN, 'GET', '/v1/stats/sync?window=1h')
    expect(stats.statusCode).toBe(200)
    expect(stats.json()).toMatchObject({ total: 1, pending: 1 })
    const all = await r.api(REVIEW_ADMIN_TOKEN, 'GET', '/v1/stats/sync?window=1h')
    expect(all.json().total).toBe(2)
    const resync = await r.api(BRIGHT_TOKEN, 'POST', '/v1/resync', { olderThanSeconds: 0, dryRun: true })
    expect(resync.statusCode).toBe(200)
    expect(resync.json()).toEqual({ matched: 1, appointmentIds: [brightAppointment], dispatched: 0 })
  })

  it('answers 401 without a token or with a wrong one, on every route, and never echoes the token', async () => {
    const routes: Array<['GET' | 'POST', string, unknown?]> = [
      ['GET', '/v1/review-items'],
      ['GET', `/v1/review-items/${acmeItem.id}`],
      ['POST', `/v1/review-items/${acmeItem.id}/retry`],
      ['POST', `/v1/review-items/${acmeItem.id}/resolve`, { note: 'x' }],
      ['GET', '/v1/stats/sync'],
      ['POST', '/v1/resync', { olderThanSeconds: 0, dryRun: true }],
    ]
    for (const [method, url, body] of routes) {
      const none = await r.api(undefined, method, url, body)
      expect(none.statusCode, `${method} ${url} without a token`).toBe(401)
      expect(none.json().error).toBe('unauthorized')
      const wrong = await r.api(WRONG_TOKEN, method, url, body)
      expect(wrong.statusCode, `${method} ${url} with a wrong token`).toBe(401)
      expect(wrong.body).not.toContain(WRONG_TOKEN)
      const basic = await r.app.inject({ method, url, headers: { authorization: `Basic ${REVIEW_ADMIN_TOKEN}` } })
      expect(basic.statusCode).toBe(401)
    }
    const page = await r.api(undefined, 'GET', '/')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.headers['content-security-policy']).toContain("default-src 'none'")
  })

  it('pages the list newest first with a stable cursor', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const query: string = cursor ? `&cursor=${cursor}` : ''
      const page = await r.api(REVIEW_ADMIN_TOKEN, 'GET', `/v1/review-items?limit=1${query}`)
      expect(page.statusCode).toBe(200)
      const body: { items: ReviewItemView[]; nextCursor: string | null } = page.json()
      seen.push(...body.items.map((item) => item.id))
      cursor = body.nextCursor
    } while (cursor)
    const all = (await r.api(REVIEW_ADMIN_TOKEN, 'GET', '/v1/review-items')).json().items as ReviewItemView[]
    expect(seen).toEqual(all.map((item) => item.id))
    expect(new Set(seen).size).toBe(3)
    const created = all.map((item) => item.createdAt)
    expect([...created].sort().reverse()).toEqual(created)
    const bad = await r.api(REVIEW_ADMIN_TOKEN, 'GET', '/v1/review-items?cursor=garbage')
    expect(bad.statusCode).toBe(400)
  })

  it('writes no token to its log', () => {
    const log = readFileSync(join(LOG_DIR, `review-${process.pid}.log`), 'utf8')
    for (const token of [REVIEW_ADMIN_TOKEN, WRONG_TOKEN, ACME_TOKEN, BRIGHT_TOKEN]) expect(log).not.toContain(token)
    expect(log).toContain('review item retried')
  })
})
