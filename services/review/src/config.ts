import { type BaseConfig, createEnvReader, loadBaseConfig } from '@calsync/service-kit'

export interface Config extends BaseConfig {
  /**
   * Operator token that sees every tenant (`CALSYNC_ADMIN_TOKEN`). Optional: without it only
   * tenant tokens work, and main warns at start.
   */
  adminToken: string | undefined
  /** How long a command to the appointments service may take before the API answers 503. */
  commandTimeoutMs: number
  /** How long `POST /v1/reconcile` waits for calcom-sync's pass. */
  reconcileTimeoutMs: number
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const read = createEnvReader(env)
  const commandTimeoutMs = read.duration('CALSYNC_COMMAND_TIMEOUT', '10s', { positive: true })
  const reconcileTimeoutMs = read.duration('CALSYNC_RECONCILE_TIMEOUT', '5m', { positive: true })
  return {
    ...loadBaseConfig(env, {
      serviceName: 'review',
      defaultDbName: 'calsync_review',
      portVariable: 'REVIEW_PORT',
      defaultPort: 8083,
    }),
    adminToken: read.optional('CALSYNC_ADMIN_TOKEN'),
    commandTimeoutMs,
    reconcileTimeoutMs,
  }
}
