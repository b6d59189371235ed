import { type Logger, upsertRacing } from '@calsync/service-kit'
import type { WebhookWaits } from '../calcom/webhook-waits.ts'
import type { AppointmentsStore } from './appointments-store.ts'
import { type BucketUnit, bucketOf, prunePlan } from './prune-buckets.ts'

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

/** How far a kind of record has been pruned, and until when its records without a bucket may remain. */
interface PruneMark {
  _id: string
  through: string | undefined
  legacyUntil: string
}

/**
 * Deletes what is needed only for a while, so the collections every change reads stay the size
 * of the live book, not of its history (issue 14): claims of days gone by, idempotency answers
 * past their window, waits of webhooks long done. Appointments, their events and their history
 * are kept. Each kind is deleted bucket by bucket (prune-buckets.ts), as equalities FerretDB
 * pushes down; records written before they carried a bucket are deleted by the old range until
 * the last of them has expired. Every instance may run it: each delete is idempotent, and a
 * watermark one instance set back only makes the next pass delete a bucket again.
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
  const { markers } = deps.store

  async function pruneKind(kind: {
    name: string
    unit: BucketUnit
    /** The newest bucket whose records are all past their retention. */
    newestGone: string
    /** How long records without a bucket may outlive the first pass. */
    legacyMs: number
    bucket: (value: string) => Promise<number>
    legacy: () => Promise<number>
  }): Promise<number> {
    const now = clock().getTime()
    const _id = `pruned ${kind.name}`
    const mark = (await markers.findOne({ _id })) as PruneMark | null
    const legacyUntil = mark?.legacyUntil ?? new Date(now + kind.legacyMs).toISOString()
    let deleted = now <= Date.parse(legacyUntil) ? await kind.legacy() : 0
    const plan = prunePlan(kind.unit, mark?.through, kind.newestGone)
    for (const value of plan.buckets) deleted += await kind.bucket(value)
    if (!mark || plan.through !== mark.through) {
      await upsertRacing(() =>
        markers.updateOne({ _id }, { $set: { through: plan.through, legacyUntil } }, { upsert: true }),
      )
    }
    return deleted
  }

  return async function prune(): Promise<RetentionReport> {
    const now = clock().getTime()
    // A claim's `day` is the UTC date of its minute; a day is over once its last minute is.
    const lastDayGone = new Date(now - options.claimsMs - 86_400_000).toISOString()
    const claims = await pruneKind({
      name: 'slot_claims',
      unit: 'day',
      newestGone: bucketOf('day', lastDayGone),
      // Claims have always carried their day: the range is needed only for the first pass.
      legacyMs: 0,
      bucket: async (day) => (await deps.store.claims.deleteMany({ day })).deletedCount,
      legacy: async () =>
        (await deps.store.claims.deleteMany({ day: { $lte: bucketOf('day', lastDayGone) } })).deletedCount,
    })
    // An hour is gone once its last instant is older than the window.
    const keysBefore = now - options.idempotencyMs
    const idempotencyKeys = await pruneKind({
      name: 'idempotency_keys',
      unit: 'hour',
      newestGone: bucketOf('hour', new Date(keysBefore - 3_600_000).toISOString()),
      legacyMs: options.idempotencyMs + 3_600_000,
      bucket: async (hour) => (await deps.store.idempotency.deleteMany({ hour })).deletedCount,
      legacy: async () =>
        (
          await deps.store.idempotency.deleteMany({
            hour: { $exists: false },
            createdAt: { $lt: new Date(keysBefore).toISOString() },
          })
        ).deletedCount,
    })
    const waitsBefore = now - WAIT_RECORD_MS
    const webhookWaits = await pruneKind({
      name: 'webhook_waits',
      unit: 'hour',
      newestGone: bucketOf('hour', new Date(waitsBefore - 3_600_000).toISOString()),
      legacyMs: WAIT_RECORD_MS + 3_600_000,
      bucket: (hour) => deps.waits.pruneHour(hour),
      legacy: () => deps.waits.pruneUnbucketed(new Date(waitsBefore)),
    })
    const report = { claims, idempotencyKeys, webhookWaits }
    if (report.claims + report.idempotencyKeys + report.webhookWaits > 0) {
      deps.logger.info(report, 'pruned records past their retention')
    }
    return report
  }
}

export type Retention = ReturnType<typeof createRetention>
