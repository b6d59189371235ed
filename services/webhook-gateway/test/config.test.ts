import { ConfigError } from '@calsync/service-kit'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.ts'

const env = { NATS_URL: 'nats://127.0.0.1:4222' }

function refusal(overrides: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...env, ...overrides })
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected the config to be refused')
}

describe('gateway config', () => {
  it('defaults to a 15 minute replay window and 600 webhooks a minute per tenant, without MONGO_URL', () => {
    expect(loadConfig(env)).toMatchObject({
      port: 8080,
      replayWindowMs: 900_000,
      rateLimitPerMinute: 600,
      mongoUrl: '',
    })
    expect(loadConfig({ ...env, CALSYNC_WEBHOOK_REPLAY_WINDOW: '30m', CALSYNC_WEBHOOK_RATE_LIMIT: '5' })).toMatchObject(
      { replayWindowMs: 1_800_000, rateLimitPerMinute: 5 },
    )
  })

  it('refuses a replay window longer than the stream de-duplicates, naming the variable', () => {
    const error = refusal({ CALSYNC_WEBHOOK_REPLAY_WINDOW: '31m' })
    expect(error.variable).toBe('CALSYNC_WEBHOOK_REPLAY_WINDOW')
    expect(error.message).toContain('30m')
    for (const value of ['soon', '1m,2m', '0s']) {
      expect(refusal({ CALSYNC_WEBHOOK_REPLAY_WINDOW: value }).variable).toBe('CALSYNC_WEBHOOK_REPLAY_WINDOW')
    }
  })

  it('refuses a rate limit that is not a positive whole number', () => {
    for (const value of ['0', '-1', '1.5', 'lots']) {
      expect(refusal({ CALSYNC_WEBHOOK_RATE_LIMIT: value }).variable).toBe('CALSYNC_WEBHOOK_RATE_LIMIT')
    }
  })
})
