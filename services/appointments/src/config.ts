import { type BaseConfig, createEnvReader, loadBaseConfig } from '@calsync/service-kit'

export interface Config extends BaseConfig {
  /** How often the outbox relay looks for unpublished events when nothing wakes it. */
  relayIntervalMs: number
  /** How long a reschedule of a booking calsync never saw waits for that booking before it is booked as it stands. */
  unknownRescheduleGraceMs: number
  /** How long claims of past days and idempotency answers are kept before they are pruned. */
  retention: { claimsMs: number; idempotencyMs: number }
  /**
   * Test-only fault injection: `exit-after-event-write` kills the process right after a change
   * is durably written and before it is published (proves crash safety, DESIGN §5).
   */
  faultInjection: 'none' | 'exit-after-event-write'
}

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
    faultInjection: read.oneOf('CALSYNC_FAULT_INJECTION', ['none', 'exit-after-event-write'], 'none'),
  }
}
