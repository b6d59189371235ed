import type { Logger } from '@calsync/service-kit'
import type { WebhookWaits } from '../calcom/webhook-waits.ts'
import type { AppointmentsStore } from './appointments-store.ts'

export interface RetentionOptions {
  /** Slot claims are kept this long after their day is over (past slots cannot be booked). */
  claimsMs: number
  /** An `Idempotency-Key` answers a repeated request this long after its first one. */
  idempotencyMs: number
}

export const DEFAULT_RETENTION: RetentionOptions = { claimsMs: 48 * 3_600_000, idempotencyMs: 24 * 3_600_000 }

/** A webhook waits 15 minutes at most (decision row 29): a first look older than a day is left-over. */
const WAIT_RECORD_MS = 24 * 3_600_000

export interface RetentionReport {
  claims: number
  idempotencyKeys: number
  webhookWaits: number
}

/**
 * Deletes what is needed only for a while, so the collections every change reads stay the size
 * of the live book, not of its history (issue 14): claims of days gone by, idempotency answers
 * past their window, waits of webhooks long done. Appointments, their events and their history
 * are kept. Every instance may run it: each delete is idempotent.
 */
export function createRetention(deps: {
  store: AppointmentsStore
  waits: WebhookWaits
  logger: Logger
  options?: RetentionOptions
  clock?: () => Date
}) {
  const options = deps.options ?? DEFAULT_RETENTION
  const clock = deps.clock ?? (() => new Date())

  return async function prune(): Promise<RetentionReport> {
    const now = clock().getTime()
    // A claim's `day` is the UTC date of its minute; a day is over once its last minute is.
    const lastDayGone = new Date(now - options.claimsMs - 86_400_000).toISOString().slice(0, 10)
    const claims = await deps.store.claims.deleteMany({ day: { $lte: lastDayGone } })
    const keysBefore = new Date(now - options.idempotencyMs).toISOString()
    const keys = await deps.store.idempotency.deleteMany({ createdAt: { $lt: keysBefore } })
    const webhookWaits = await deps.waits.prune(new Date(now - WAIT_RECORD_MS))
    const report = { claims: claims.deletedCount, idempotencyKeys: keys.deletedCount, webhookWaits }
    if (report.claims + report.idempotencyKeys + report.webhookWaits > 0) {
      deps.logger.info(report, 'pruned records past their retention')
    }
    return report
  }
}

export type Retention = ReturnType<typeof createRetention>
