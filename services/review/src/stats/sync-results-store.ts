import type { SyncResult } from '@calsync/contracts'
import { isDuplicateKeyError } from '@calsync/service-kit'
import type { Db, Filter } from 'mongodb'
import { normalizeIso } from '../items/review-item.ts'

/** One document per sync result this service consumed: the facts behind latency and failure stats. */
export interface SyncResultDoc {
  /** `<stream>:<sequence>`: a redelivered result is the same document. */
  _id: string
  type: SyncResult['type']
  tenantId: string
  appointmentId: string
  version: number
  attempt: number
  at: string
  /** `at − changedAt` of a success: change → Cal.com latency. */
  latencyMs: number | null
  errorCode: string | null
  recordedAt: string
}

export const PERCENTILES = [50, 95, 99] as const

export type LatencyPercentiles = { p50: number | null; p95: number | null; p99: number | null }

/** Nearest-rank percentile position (1-based) in n sorted values. */
export function nearestRank(percentile: number, n: number): number {
  return Math.max(1, Math.ceil((percentile / 100) * n))
}

export function createSyncResultsStore(db: Db) {
  const results = db.collection<SyncResultDoc>('sync_results')

  const since = (scope: string | null, type: SyncResult['type'], from: string): Filter<SyncResultDoc> => ({
    type,
    at: { $gte: from },
    ...(scope === null ? {} : { tenantId: scope }),
  })

  return {
    results,

    async ensureIndexes(): Promise<void> {
      await results.createIndex({ type: 1, at: 1 })
      await results.createIndex({ tenantId: 1, type: 1, at: 1 })
    },

    async record(result: SyncResult, id: string, now: Date): Promise<void> {
      const at = normalizeIso(result.at)
      // Clocks of different hosts can disagree by a little; a negative latency would mean nothing.
      const latencyMs =
        result.type === 'sync.succeeded' && result.changedAt
          ? Math.max(0, Date.parse(at) - Date.parse(result.changedAt))
          : null
      try {
        await results.insertOne({
          _id: id,
          type: result.type,
          tenantId: result.tenantId,
          appointmentId: result.appointmentId,
          version: result.version,
          attempt: result.attempt,
          at,
          latencyMs,
          errorCode: result.type === 'sync.succeeded' ? null : result.errorCode,
          recordedAt: now.toISOString(),
        })
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error
      }
    },

    /**
     * p50/p95/p99 of success latency since `from`, by nearest rank. Counted, then each rank
     * fetched on its own, so no window size ever loads all latencies into memory.
     */
    async latencyPercentiles(scope: string | null, from: string): Promise<LatencyPercentiles> {
      const filter = { ...since(scope, 'sync.succeeded', from), latencyMs: { $ne: null } } as Filter<SyncResultDoc>
      const n = await results.countDocuments(filter)
      const valueAt = async (percentile: number) => {
        if (n === 0) return null
        const [doc] = await results
          .find(filter, { projection: { latencyMs: 1 } })
          .sort({ latencyMs: 1, _id: 1 })
          .skip(nearestRank(percentile, n) - 1)
          .limit(1)
          .toArray()
        return doc?.latencyMs ?? null
      }
      const [p50, p95, p99] = await Promise.all(PERCENTILES.map(valueAt))
      return { p50: p50 ?? null, p95: p95 ?? null, p99: p99 ?? null }
    },

    /** `{ [errorCode]: count }` of terminal failures since `from`. */
    async failuresByCode(scope: string | null, from: string): Promise<Record<string, number>> {
      const groups = await results
        .aggregate<{ _id: string; count: number }>([
          { $match: since(scope, 'sync.failed', from) },
          { $group: { _id: '$errorCode', count: { $sum: 1 } } },
        ])
        .toArray()
      const counts: Record<string, number> = {}
      for (const group of groups.sort((a, b) => a._id.localeCompare(b._id))) counts[group._id] = group.count
      return counts
    },
  }
}

export type SyncResultsStore = ReturnType<typeof createSyncResultsStore>
