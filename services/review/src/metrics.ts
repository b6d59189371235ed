import { REVIEW_KINDS } from '@calsync/contracts'
import type { Logger, Meter } from '@calsync/service-kit'
import type { ObservableResult } from '@opentelemetry/api'
import type { ReviewItemsStore } from './items/review-items-store.ts'

/**
 * `calsync_review_items_open{kind}`, counted in the review collection when `/metrics` is scraped,
 * so every instance reports the same shared queue. Every kind is reported, 0 when none is open;
 * when the database does not answer, each kind reports NaN and the scrape answers anyway.
 */
export function observeOpenReviewItems(deps: { meter: Meter; items: ReviewItemsStore; logger: Logger }) {
  const gauge = deps.meter.createObservableGauge('calsync_review_items_open', {
    description: 'Open review items of all tenants, by kind',
  })
  const callback = async (result: ObservableResult) => {
    let counts: Record<string, number>
    try {
      counts = await deps.items.countOpenByKind()
    } catch (error) {
      deps.logger.warn({ err: error }, 'open review items not counted for metrics')
      // Unknown, not zero; and not left out, which would re-export the last counts (see observeConsumerBacklog).
      counts = Object.fromEntries(REVIEW_KINDS.map((kind) => [kind, Number.NaN]))
    }
    for (const [kind, count] of Object.entries(counts)) result.observe(count, { kind })
  }
  gauge.addCallback(callback)
  return {
    stop: () => gauge.removeCallback(callback),
  }
}
