import { type BaseConfig, ConfigError, createEnvReader, loadBaseConfig } from '@calsync/service-kit'

export interface Config extends BaseConfig {
  calcomApiUrl: string
  /** Delays before each retry; attempts in all = length + 1 (DESIGN §5). */
  backoffMs: number[]
  calcomTimeoutMs: number
  /** Cal.com calls per minute per tenant, kept under Cal.com's 120 per API key. */
  tenantCallsPerMinute: number
  concurrency: number
  /** How long JetStream waits for an ack before redelivering (a crashed worker's messages). */
  ackWaitMs: number
  /** An appointment's lease: renewed while a sync runs; a dead holder's frees after it. */
  leaseTtlMs: number
  /** Every tenant reconciled against Cal.com this often (0s: only on demand). */
  reconcileIntervalMs: number
  /** The part of a tenant's Cal.com calls per minute the reconciler may spend. */
  reconcileBudgetShare: number
  /** Upcoming bookings compared in full each pass. */
  reconcileHorizonMs: number
  /** Re-read before the watermark each pass. */
  reconcileOverlapMs: number
  /** No webhook accepted this long while Cal.com changed: the tenant's webhooks are silent. */
  webhookSilenceAfterMs: number
  /** How long a Cal.com change's webhook may take before its absence counts. */
  webhookSilenceGraceMs: number
  /**
   * Test-only fault injection: `exit-<point>` SIGKILLs the process the first time a sync reaches
   * that point (sync-worker.ts SyncFaultPoint), so tests can kill it exactly there.
   */
  faultInjection: (typeof FAULT_INJECTIONS)[number]
}

const FAULT_INJECTIONS = [
  'none',
  'exit-during-lease',
  'exit-after-calcom-answer',
  'exit-before-result-publish',
] as const

export function loadConfig(env: Record<string, string | undefined>): Config {
  const read = createEnvReader(env)
  const positive = (name: string, fallback: number) => read.positiveInteger(name, fallback)
  const calcomTimeoutMs = read.duration('CALCOM_TIMEOUT', '10s', { positive: true })
  // Handlers tell JetStream they are working every third of it, so it bounds only how long a dead
  // worker's messages wait, not how long a sync may take.
  const ackWaitMs = read.duration('CALSYNC_SYNC_ACK_WAIT', '60s')
  if (ackWaitMs < 1000) throw new ConfigError('CALSYNC_SYNC_ACK_WAIT', 'must be at least 1s')
  const leaseTtlMs = read.duration('CALSYNC_LEASE_TTL', '30s')
  if (leaseTtlMs < 1000) throw new ConfigError('CALSYNC_LEASE_TTL', 'must be at least 1s')
  const reconcileIntervalMs = read.duration('CALSYNC_RECONCILE_INTERVAL', '5m')
  const reconcileHorizonMs = read.duration('CALSYNC_RECONCILE_HORIZON', '1440h')
  if (reconcileHorizonMs < 60_000) throw new ConfigError('CALSYNC_RECONCILE_HORIZON', 'must be at least 1m')
  const reconcileOverlapMs = read.duration('CALSYNC_RECONCILE_OVERLAP', '10m')
  const webhookSilenceAfterMs = read.duration('CALSYNC_WEBHOOK_SILENCE_AFTER', '30m')
  const webhookSilenceGraceMs = read.duration('CALSYNC_WEBHOOK_SILENCE_GRACE', '2m')
  const reconcileBudgetShare = Number(read.optional('CALSYNC_RECONCILE_BUDGET_SHARE') ?? 0.2)
  if (!(reconcileBudgetShare > 0 && reconcileBudgetShare <= 0.5)) {
    throw new ConfigError('CALSYNC_RECONCILE_BUDGET_SHARE', 'must be a number above 0 and at most 0.5')
  }
  return {
    ...loadBaseConfig(env, {
      serviceName: 'calcom-sync',
      defaultDbName: 'calsync_sync',
      portVariable: 'CALCOM_SYNC_PORT',
      defaultPort: 8082,
    }),
    calcomApiUrl: read.url('CALCOM_API_URL', ['http', 'https'], 'https://api.cal.com'),
    backoffMs: read.durations('CALSYNC_SYNC_BACKOFF', '1s,5s,30s'),
    calcomTimeoutMs,
    tenantCallsPerMinute: positive('CALSYNC_CALCOM_CALLS_PER_MINUTE', 100),
    concurrency: positive('CALSYNC_SYNC_CONCURRENCY', 8),
    ackWaitMs,
    leaseTtlMs,
    reconcileIntervalMs,
    reconcileBudgetShare,
    reconcileHorizonMs,
    reconcileOverlapMs,
    webhookSilenceAfterMs,
    webhookSilenceGraceMs,
    faultInjection: read.oneOf('CALSYNC_FAULT_INJECTION', FAULT_INJECTIONS, 'none'),
  }
}
