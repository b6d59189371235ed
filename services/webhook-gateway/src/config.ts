import { WEBHOOK_DUPLICATE_WINDOW_MS } from '@calsync/contracts'
import { type BaseConfig, ConfigError, createEnvReader, loadBaseConfig } from '@calsync/service-kit'

/** What the webhook route needs from config; tests build it directly. */
export interface WebhookSettings {
  /** A delivery whose signed `createdAt` is older than this is refused as stale. */
  replayWindowMs: number
  /** Accepted requests per minute per tenant (token bucket, per instance). */
  rateLimitPerMinute: number
}

export interface Config extends BaseConfig, WebhookSettings {}

type Env = Record<string, string | undefined>

function loadReplayWindow(env: Env): number {
  const variable = 'CALSYNC_WEBHOOK_REPLAY_WINDOW'
  const windowMs = createEnvReader(env).duration(variable, '15m', { positive: true })
  // A re-delivery inside the replay window must still be de-duplicated by JetStream.
  if (windowMs > WEBHOOK_DUPLICATE_WINDOW_MS) {
    throw new ConfigError(
      variable,
      `must not exceed the webhook stream's duplicate window of ${WEBHOOK_DUPLICATE_WINDOW_MS / 60_000}m`,
    )
  }
  return windowMs
}

function loadRateLimit(env: Env): number {
  const variable = 'CALSYNC_WEBHOOK_RATE_LIMIT'
  const text = createEnvReader(env).optional(variable)
  if (text === undefined) return 600
  const perMinute = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(perMinute) || perMinute < 1) {
    throw new ConfigError(variable, `"${text}" is not a positive whole number of requests per minute`)
  }
  return perMinute
}

export function loadConfig(env: Env): Config {
  return {
    ...loadBaseConfig(env, {
      serviceName: 'webhook-gateway',
      defaultDbName: '',
      portVariable: 'GATEWAY_PORT',
      defaultPort: 8080,
      useMongo: false,
    }),
    replayWindowMs: loadReplayWindow(env),
    rateLimitPerMinute: loadRateLimit(env),
  }
}
