/**
 * What a prune deletes, as equalities FerretDB pushes down: records carry the UTC day or hour
 * they expire by (a claim's `day`, an idempotency answer's or a wait's `hour`), and each pass
 * deletes the buckets from the one after the last it finished through the newest now gone, each
 * `{ bucket: value }`. A range (`createdAt < t`) would read the whole collection into FerretDB.
 */
export type BucketUnit = 'day' | 'hour'

const STEP_MS: Record<BucketUnit, number> = { day: 86_400_000, hour: 3_600_000 }
const WIDTH: Record<BucketUnit, number> = { day: 10, hour: 13 }

/** The bucket of an ISO instant: `2031-03-04` or `2031-03-04T09`. */
export const bucketOf = (unit: BucketUnit, iso: string) => iso.slice(0, WIDTH[unit])

const startOf = (unit: BucketUnit, bucket: string) =>
  Date.parse(unit === 'day' ? `${bucket}T00:00:00.000Z` : `${bucket}:00:00.000Z`)

/** At most this many buckets per pass (a year of days, a month of hours): the next pass goes on. */
export const MAX_BUCKETS: Record<BucketUnit, number> = { day: 366, hour: 744 }

export interface PrunePlan {
  /** Buckets to delete, oldest first. */
  buckets: string[]
  /** What the watermark says once they are gone (unchanged when there is nothing to do). */
  through: string | undefined
}

/**
 * The buckets after `through` up to `newestGone` inclusive, capped; with no watermark yet, only
 * `newestGone` (what is older is the legacy pass's: see retention.ts).
 */
export function prunePlan(unit: BucketUnit, through: string | undefined, newestGone: string): PrunePlan {
  const last = startOf(unit, newestGone)
  if (!Number.isFinite(last)) return { buckets: [], through }
  if (through === undefined) return { buckets: [newestGone], through: newestGone }
  const first = startOf(unit, through) + STEP_MS[unit]
  if (!Number.isFinite(first) || first > last) return { buckets: [], through }
  const count = Math.min(MAX_BUCKETS[unit], Math.floor((last - first) / STEP_MS[unit]) + 1)
  const buckets = Array.from({ length: count }, (_, n) =>
    bucketOf(unit, new Date(first + n * STEP_MS[unit]).toISOString()),
  )
  return { buckets, through: buckets.at(-1) }
}
