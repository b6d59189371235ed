import { type BaseConfig, createEnvReader, loadBaseConfig } from '@calsync/service-kit'

export interface Config extends BaseConfig {
  /** How often the outbox relay looks for unpublished events when nothing wakes it. */
  relayIntervalMs: number
  /** How long a reschedule of a booking calsync never saw waits for that booking before it is booked as it stands. */
  unknownRescheduleGraceMs: number
  /** How long claims of past days and idempotency answers are kept before they are pruned. */
  retention: { claimsMs: number; idempotencyMs: number }
  /** Webhooks, and sync results, each consumer handles at once (across appointments; one appointment's wait for its lock). */
  consumerConcurrency: number
  /**
   * Test-only fault injection: `exit-after-event-write` kills the process right after a change
   * is durably written and before it is published (proves crash safety, DESIGN §5);
   * `kill-on-poison-webhook` kills it whenever it starts handling a webhook of a booking whose uid
   * begins `poison-` (stands for a delivery that crashes the process, e.g. out of memory).
   */
  faultInjection: (typeof FAULT_INJECTIONS)[number]
}

/**
 * Chosen by measurement (npm run bench, throughput, FerretDB over PostgreSQL on two cores): 16
 * applied a burst of webhooks at 33–34/s against 23–26/s with 4, creates unchanged.
 */
const FAULT_INJECTIONS = ['none', 'exit-after-event-write', 'kill-on-poison-webhook'] as const

export const DEFAULT_CONSUMER_CONCURRENCY = 16

export function loadConfig(env: Record<string, string | undefined>): Config {
  const read = createEnvReader(env)
  const relayIntervalMs = read.duration('CALSYNC_OUTBOX_INTERVAL', '1s', { positive: true })
  const unknownRescheduleGraceMs = read.duration('CALSYNC_UNKNOWN_RESCHEDULE_GRACE', '60s')
  const retention = {
    claimsMs: read.duration('CALSYNC_CLAIM_RETENTION', '48h'),
    idempotencyMs: read.duration('CALSYNC_IDEMPOTENCY_RETENTION', '24h', { positive: true }),
  }
  return {
    ...loadBaseConfig(env, {
      serviceName: 'appointments',
      defaultDbName: 'calsync_appointments',
      portVariable: 'APPOINTMENTS_PORT',
      defaultPort: 8081,
    }),
    relayIntervalMs,
    unknownRescheduleGraceMs,
    retention,
    consumerConcurrency: read.positiveInteger('CALSYNC_CONSUMER_CONCURRENCY', DEFAULT_CONSUMER_CONCURRENCY),
    faultInjection: read.oneOf('CALSYNC_FAULT_INJECTION', FAULT_INJECTIONS, 'none'),
  }
}
