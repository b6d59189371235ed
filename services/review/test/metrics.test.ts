import { consumerDefinitions, ERROR_CODES } from '@calsync/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { scrapeApp } from '../../../test/support/prometheus.ts'
import { ACME, BRIGHT } from '../../../test/support/tenants.ts'
import { createSyncReporter } from '../../calcom-sync/src/sync/sync-reporter.ts'
import { reviewSyncResultsDefinition } from '../src/intake/sync-results-consumer.ts'
import {
  appointmentEventFixture,
  REVIEW_ADMIN_TOKEN,
  type ReviewHarness,
  startReviewHarness,
} from './support/review-harness.ts'

const OPEN = 'calsync_review_items_open'

describe('review metrics on GET /metrics', () => {
  let r: ReviewHarness
  beforeAll(async () => {
    r = await startReviewHarness()
  })
  afterAll(() => r.close())

  it('reports open items per kind, counted in the collection at scrape time', async () => {
    const empty = await scrapeApp(r.app)
    expect(empty.types.get(OPEN)).toBe('gauge')
    for (const kind of ['sync_failed', 'double_booking', 'unmapped_event_type', 'poison_message']) {
      expect(empty.value(OPEN, { kind }), kind).toBe(0)
    }

    const reporter = createSyncReporter({ js: r.js, names: r.names })
    for (const [tenant, appointmentId] of [
      [ACME, 'apt_metrics_1'],
      [BRIGHT, 'apt_metrics_2'],
    ] as const) {
      await reporter.failed(
        appointmentEventFixture(tenant, appointmentId),
        4,
        ERROR_CODES.calcomServerError,
        'Cal.com answered 503',
        null,
      )
    }
    const first = await eventually('the first item', () => r.itemOf(`sync_failed:${ACME}:apt_metrics_1`))
    await eventually('the second item', () => r.itemOf(`sync_failed:${BRIGHT}:apt_metrics_2`))
    expect((await scrapeApp(r.app)).value(OPEN, { kind: 'sync_failed' })).toBe(2)

    const resolved = await r.api(REVIEW_ADMIN_TOKEN, 'POST', `/v1/review-items/${first.id}/resolve`, {
      note: 'called the patient',
    })
    expect(resolved.statusCode).toBe(200)
    const after = await scrapeApp(r.app)
    expect(after.value(OPEN, { kind: 'sync_failed' })).toBe(1)
    expect(after.value(OPEN, { kind: 'double_booking' })).toBe(0)
  })

  it('reports the backlog of both durable consumers, and serves /metrics without a token', async () => {
    await eventually('the consumers to drain', async () => ((await r.consumersIdle()) ? true : undefined))
    const response = await r.app.inject({ method: 'GET', url: '/metrics' })
    expect(response.statusCode).toBe(200)
    const scrape = await scrapeApp(r.app)
    for (const definition of [consumerDefinitions(r.names).review, reviewSyncResultsDefinition(r.names)]) {
      const labels = { stream: definition.stream, consumer: definition.durable }
      expect(scrape.value('calsync_consumer_pending', labels), definition.durable).toBe(0)
      expect(scrape.value('calsync_consumer_ack_pending', labels), definition.durable).toBe(0)
    }
  })
})
