import { createHash } from 'node:crypto'
import type { ReviewKind } from '@calsync/contracts'

export const ITEM_STATUSES = ['open', 'resolved'] as const
export type ItemStatus = (typeof ITEM_STATUSES)[number]

/** `pending` until a sync result (or nothing dispatched) settles the re-drive. */
export const RETRY_OUTCOMES = ['pending', 'succeeded', 'failed', 'not_dispatched'] as const
export type RetryOutcome = (typeof RETRY_OUTCOMES)[number]

export interface RetryState {
  requestedAt: string
  requestedBy: string
  /** Appointments the re-drive dispatched; null until the appointments service answered. */
  dispatched: number | null
  outcome: RetryOutcome
  outcomeAt: string | null
}

export interface ReviewItemDoc {
  /** Derived from `causeId`: the unique `_id` is what makes "one item per cause" atomic. */
  _id: string
  causeId: string
  tenantId: string
  kind: ReviewKind
  appointmentIds: string[]
  errorCode: string
  errorMessage: string
  attempts: number
  status: ItemStatus
  createdAt: string
  resolvedAt: string | null
  note: string | null
  /** When this service last took in a new report of the cause. */
  lastSeenAt: string
  /** `at` of the newest report taken in, by the reporter's clock: older reports change nothing. */
  causeAt: string
  /**
   * While resolved: the time (the sync result's `at`, or ours for a manual resolve) up to which
   * the cause is settled. A report of the cause after it reopens the item.
   */
  resolvedAsOf: string | null
  retry: RetryState | null
  /** Replays of the item's stored message so far (kinds that retry by replaying; absent before the first). */
  replays?: number
  detail: Record<string, unknown>
}

/** The item JSON of DESIGN §4.5, plus `lastSeenAt`, `retry` and (single item only) `detail`. */
export interface ReviewItemView {
  id: string
  tenantId: string
  kind: ReviewKind
  appointmentIds: string[]
  errorCode: string
  errorMessage: string
  attempts: number
  status: ItemStatus
  createdAt: string
  resolvedAt: string | null
  note: string | null
  lastSeenAt: string
  retry: RetryState | null
  detail?: Record<string, unknown>
}

/** `rv_` + 24 hex of sha256(causeId): stable, URL-safe, and the same for every instance. */
export function reviewItemIdOf(causeId: string): string {
  return `rv_${createHash('sha256').update(causeId, 'utf8').digest('hex').slice(0, 24)}`
}

/** The cause calcom-sync names a terminal sync failure with: one item per appointment. */
export function syncFailedCauseId(tenantId: string, appointmentId: string): string {
  return `sync_failed:${tenantId}:${appointmentId}`
}

/** Every time is stored as `toISOString()`, so string order is time order. */
export function normalizeIso(value: string): string {
  return new Date(value).toISOString()
}

export function toReviewItemView(doc: ReviewItemDoc, options: { withDetail: boolean }): ReviewItemView {
  return {
    id: doc._id,
    tenantId: doc.tenantId,
    kind: doc.kind,
    appointmentIds: doc.appointmentIds,
    errorCode: doc.errorCode,
    errorMessage: doc.errorMessage,
    attempts: doc.attempts,
    status: doc.status,
    createdAt: doc.createdAt,
    resolvedAt: doc.resolvedAt,
    note: doc.note,
    lastSeenAt: doc.lastSeenAt,
    retry: doc.retry,
    ...(options.withDetail ? { detail: doc.detail } : {}),
  }
}
