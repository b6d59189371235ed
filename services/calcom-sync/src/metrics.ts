import { DRIFT_KINDS, ERROR_CODES } from '@calsync/contracts'
import { labelCombinations, type Meter, zeroed } from '@calsync/service-kit'

/** How one handling of an appointment event ended, as `calsync_sync_attempts_total` counts it. */
export type SyncAttemptOutcome = 'succeeded' | 'retrying' | 'failed' | 'skipped'

/** Codes of failures that are retried (calcom-errors.ts; `internal_error`: our database or NATS). */
const RETRIED_CODES = [
  ERROR_CODES.calcomNetwork,
  ERROR_CODES.calcomTimeout,
  ERROR_CODES.calcomServerError,
  ERROR_CODES.calcomRateLimited,
  ERROR_CODES.internal,
]

/** Codes a sync ends with for good: the terminal ones, and a retried one once its retries are spent. */
const TERMINAL_CODES = [
  ERROR_CODES.calcomBadRequest,
  ERROR_CODES.calcomUnauthorized,
  ERROR_CODES.calcomForbidden,
  ERROR_CODES.calcomNotFound,
  ERROR_CODES.calcomUnprocessable,
  ERROR_CODES.calcomSlotTaken,
  ERROR_CODES.calcomBookingCancelled,
  ERROR_CODES.unknownTenant,
  ...RETRIED_CODES,
]

/** Each counter's label sets that start at 0, by metric name (`tenantIds`: the tenants registered at start). */
export function zeroedLabelSets(tenantIds: readonly string[]) {
  return {
    calsync_sync_attempts_total: [
      ...labelCombinations({ outcome: ['succeeded', 'skipped'], error_code: ['none'] }),
      ...labelCombinations({ outcome: ['retrying'], error_code: RETRIED_CODES }),
      ...labelCombinations({ outcome: ['failed'], error_code: TERMINAL_CODES }),
    ],
    calsync_reconcile_differences_total: labelCombinations({ tenant: tenantIds, kind: DRIFT_KINDS }),
  }
}

/** From 5 ms (a warm local round trip) to 60 s (past the default last retry at 36 s). */
export const SYNC_LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/**
 * calcom-sync's instruments; the consumer backlog gauges come from the service kit. Counters start
 * at 0 for their known label sets (`zeroedLabelSets`).
 */
export function createSyncMetrics(meter: Meter, tenantIds: readonly string[]) {
  const zero = zeroedLabelSets(tenantIds)
  const attempts = zeroed(
    meter.createCounter('calsync_sync_attempts_total', {
      description:
        'Appointment events handled by calcom-sync: succeeded, retrying (failed, will retry), failed (terminal), skipped (origin calcom)',
    }),
    zero.calsync_sync_attempts_total,
  )
  const latency = meter.createHistogram('calsync_sync_latency_seconds', {
    description: 'From the change (the event time) to Cal.com confirming it',
    unit: 's',
    advice: { explicitBucketBoundaries: SYNC_LATENCY_BUCKETS_SECONDS },
  })
  const differences = zeroed(
    meter.createCounter('calsync_reconcile_differences_total', {
      description: 'Differences between calsync and Cal.com found by reconcile passes (dry runs excluded), by kind',
    }),
    zero.calsync_reconcile_differences_total,
  )
  const silence = new Map<string, number>()
  meter
    .createObservableGauge('calsync_webhook_silence', {
      description: "1 while a tenant's Cal.com webhooks are judged silent by the reconciler, else 0",
    })
    .addCallback((result) => {
      for (const [tenant, value] of silence) result.observe(value, { tenant })
    })
  return {
    reconcileDifference(tenant: string, kind: string): void {
      differences.add(1, { tenant, kind })
    },
    webhookSilence(tenant: string, silent: boolean): void {
      silence.set(tenant, silent ? 1 : 0)
    },
    /** `errorCode` is the stable code of the failure; "none" when nothing failed. */
    attempt(outcome: SyncAttemptOutcome, errorCode = 'none'): void {
      attempts.add(1, { outcome, error_code: errorCode })
    },
    synced(changedAt: string, now: Date): void {
      const seconds = (now.getTime() - Date.parse(changedAt)) / 1000
      // Clocks of two hosts can disagree by a little: the sync still counts, as an instant one.
      if (Number.isFinite(seconds)) latency.record(Math.max(0, seconds))
    },
  }
}

export type SyncMetrics = ReturnType<typeof createSyncMetrics>
