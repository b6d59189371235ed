import { REVIEW_KINDS, type ReviewKind, type ReviewRequest } from '@calsync/contracts'
import { DuplicateKeyError, insertUnique } from '@calsync/service-kit'
import type { Db, Filter } from 'mongodb'
import {
  type ItemStatus,
  normalizeIso,
  type RetryState,
  type ReviewItemDoc,
  reviewItemIdOf,
  syncFailedCauseId,
} from './review-item.ts'

export const RESOLVED_BY_SYNC_NOTE = 'resolved: sync succeeded'

/** Kinds whose cause goes on and is reported again (newer facts update the item, or reopen it). */
const ONGOING_KINDS: ReadonlySet<ReviewKind> = new Set(['sync_failed', 'webhook_silence'])

/** What taking in a review request did. */
export type RecordOutcome = 'created' | 'updated' | 'reopened' | 'unchanged'

export interface ListQuery {
  status?: ItemStatus | undefined
  kind?: ReviewKind | undefined
  /** The last item of the previous page (newest first). */
  after?: { createdAt: string; id: string } | undefined
  limit: number
}

export interface SyncFailure {
  at: string
  attempt: number
  errorCode: string
  errorMessage: string
}

/**
 * As an item is stored: its `detail` (whatever a report carried, e.g. a whole Cal.com webhook
 * with keys like `$where`, `a.b` or `__proto__`) as JSON text, so no field name from outside ever
 * becomes a field name in the database. Items stored before hold `detail` as a document.
 */
type StoredItem = Omit<ReviewItemDoc, 'detail'> & { detailJson?: string; detail?: Record<string, unknown> }

function fromStored(doc: StoredItem | null): ReviewItemDoc | null {
  if (!doc) return null
  const { detailJson, detail, ...rest } = doc
  return {
    ...rest,
    detail: detailJson === undefined ? (detail ?? {}) : (JSON.parse(detailJson) as Record<string, unknown>),
  }
}

/**
 * The review items collection. "Is this cause new?" is decided by inserting into the unique
 * `_id` (atomic on MongoDB and FerretDB alike, DESIGN §6); every update after that is
 * last-writer-wins bookkeeping. `scope` is the viewer's tenant, or null for the operator.
 */
export function createReviewItemsStore(db: Db) {
  const items = db.collection<StoredItem>('review_items')
  const findItem = async (filter: Filter<StoredItem>) => fromStored(await items.findOne(filter))

  const scoped = (scope: string | null, filter: Filter<StoredItem>): Filter<StoredItem> =>
    scope === null ? filter : { ...filter, tenantId: scope }

  return {
    items,

    async ensureIndexes(): Promise<void> {
      await items.createIndex({ status: 1, createdAt: -1, _id: -1 })
      await items.createIndex({ tenantId: 1, status: 1, createdAt: -1, _id: -1 })
    },

    async record(request: ReviewRequest, now: Date): Promise<RecordOutcome> {
      const id = reviewItemIdOf(request.causeId)
      const at = normalizeIso(request.at)
      const seen = now.toISOString()
      if (request.resolved) {
        // The cause ended by itself. Its item resolves unless a newer report (or an operator) came first.
        const result = await items.updateOne(
          { _id: id, status: 'open', causeAt: { $lt: at } },
          {
            $set: {
              status: 'resolved',
              resolvedAt: seen,
              note: request.errorMessage,
              resolvedAsOf: at,
              lastSeenAt: seen,
            },
          },
        )
        return result.modifiedCount === 1 ? 'updated' : 'unchanged'
      }
      try {
        await insertUnique(items, {
          _id: id,
          causeId: request.causeId,
          tenantId: request.tenantId,
          kind: request.kind,
          appointmentIds: request.appointmentIds,
          errorCode: request.errorCode,
          errorMessage: request.errorMessage,
          attempts: request.attempts,
          status: 'open',
          createdAt: seen,
          resolvedAt: null,
          note: null,
          lastSeenAt: seen,
          causeAt: at,
          resolvedAsOf: null,
          retry: null,
          detailJson: JSON.stringify(request.detail),
        })
        return 'created'
      } catch (error) {
        if (!(error instanceof DuplicateKeyError)) throw error
      }
      const existing = await findItem({ _id: id })
      // Other kinds name one fixed fact (a pair of bookings, a delivery, a stored message):
      // a repeat is the same fact, so the item stays as the operator last saw it.
      if (!existing || !ONGOING_KINDS.has(request.kind)) return 'unchanged'
      // A redelivery or an older report than the one already taken in.
      if (at <= existing.causeAt) return 'unchanged'
      const reopen = existing.status === 'resolved' && existing.resolvedAsOf !== null && at > existing.resolvedAsOf
      if (existing.status === 'resolved' && !reopen) return 'unchanged'
      const update: Partial<StoredItem> = {
        appointmentIds: request.appointmentIds,
        errorCode: request.errorCode,
        errorMessage: request.errorMessage,
        attempts: request.attempts,
        lastSeenAt: seen,
        causeAt: at,
        detailJson: JSON.stringify(request.detail),
      }
      if (reopen) Object.assign(update, { status: 'open', resolvedAt: null, note: null, resolvedAsOf: null })
      // The cause failed again after an operator's retry: that retry's outcome is known now.
      if (existing.retry?.outcome === 'pending')
        update.retry = { ...existing.retry, outcome: 'failed', outcomeAt: seen }
      await items.updateOne({ _id: id }, { $set: update, $unset: { detail: '' } })
      return reopen ? 'reopened' : 'updated'
    },

    /** Open items of every tenant per kind, each kind present (0 when none). */
    async countOpenByKind(): Promise<Record<ReviewKind, number>> {
      const groups = await items
        .aggregate<{ _id: ReviewKind; count: number }>([
          { $match: { status: 'open' } },
          { $group: { _id: '$kind', count: { $sum: 1 } } },
        ])
        .toArray()
      const counts = Object.fromEntries(REVIEW_KINDS.map((kind) => [kind, 0])) as Record<ReviewKind, number>
      for (const group of groups) if (group._id in counts) counts[group._id] = group.count
      return counts
    },

    find(scope: string | null, id: string): Promise<ReviewItemDoc | null> {
      return findItem(scoped(scope, { _id: id }))
    },

    async list(scope: string | null, query: ListQuery): Promise<ReviewItemDoc[]> {
      const filter: Filter<StoredItem> = scoped(scope, {})
      if (query.status) filter.status = query.status
      if (query.kind) filter.kind = query.kind
      if (query.after) {
        filter.$or = [
          { createdAt: { $lt: query.after.createdAt } },
          { createdAt: query.after.createdAt, _id: { $lt: query.after.id } },
        ]
      }
      const found = await items.find(filter).sort({ createdAt: -1, _id: -1 }).limit(query.limit).toArray()
      return found.map((doc) => fromStored(doc) as ReviewItemDoc)
    },

    async resolve(id: string, note: string, now: Date): Promise<void> {
      const at = now.toISOString()
      await items.updateOne(
        { _id: id, status: 'open' },
        { $set: { status: 'resolved', resolvedAt: at, note, resolvedAsOf: at } },
      )
    },

    /** A replay was published: the item is settled, and a failing replay raises an item of its own. */
    async resolveByReplay(id: string, update: { note: string; retry: RetryState; replays: number }, now: Date) {
      const at = now.toISOString()
      await items.updateOne(
        { _id: id, status: 'open' },
        { $set: { status: 'resolved', resolvedAt: at, resolvedAsOf: at, ...update } },
      )
    },

    async recordRetry(id: string, retry: RetryState): Promise<void> {
      await items.updateOne({ _id: id, status: 'open' }, { $set: { retry } })
    },

    /**
     * Replaces a pending retry once the command answered, unless a sync result settled it first
     * (then its outcome stands).
     */
    async settleRetry(id: string, pending: RetryState, next: RetryState | null): Promise<void> {
      await items.updateOne(
        { _id: id, 'retry.requestedAt': pending.requestedAt, 'retry.outcome': 'pending' },
        { $set: { retry: next } },
      )
    },

    /**
     * A `sync.succeeded` newer than the failure, for the failed version or a later one, settles the
     * appointment's item by itself; an older version's success says nothing of the newer failure.
     */
    async resolveBySync(
      tenantId: string,
      appointmentId: string,
      result: { at: string; version: number },
      now: Date,
    ): Promise<boolean> {
      const id = reviewItemIdOf(syncFailedCauseId(tenantId, appointmentId))
      const item = await findItem({ _id: id, status: 'open' })
      const at = normalizeIso(result.at)
      if (!item || at <= item.causeAt) return false
      const failedVersion = item.detail?.version
      if (typeof failedVersion === 'number' && result.version < failedVersion) return false
      const resolvedAt = now.toISOString()
      const retry = item.retry ? { ...item.retry, outcome: 'succeeded' as const, outcomeAt: resolvedAt } : null
      await items.updateOne(
        { _id: id, status: 'open' },
        { $set: { status: 'resolved', resolvedAt, note: RESOLVED_BY_SYNC_NOTE, resolvedAsOf: at, retry } },
      )
      return true
    },

    /** A `sync.failed` after an operator's retry: the item stays open and says how the retry went. */
    async recordRetryFailure(
      tenantId: string,
      appointmentId: string,
      failure: SyncFailure,
      now: Date,
    ): Promise<boolean> {
      const id = reviewItemIdOf(syncFailedCauseId(tenantId, appointmentId))
      const item = await findItem({ _id: id })
      const at = normalizeIso(failure.at)
      if (item?.retry?.outcome !== 'pending' || at <= item.causeAt) return false
      const seen = now.toISOString()
      await items.updateOne(
        { _id: id },
        {
          $set: {
            status: 'open',
            resolvedAt: null,
            resolvedAsOf: null,
            errorCode: failure.errorCode,
            errorMessage: failure.errorMessage,
            attempts: failure.attempt,
            lastSeenAt: seen,
            causeAt: at,
            retry: { ...item.retry, outcome: 'failed', outcomeAt: seen },
          },
        },
      )
      return true
    },
  }
}

export type ReviewItemsStore = ReturnType<typeof createReviewItemsStore>
