import { ConfigError } from '@calsync/service-kit'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'

const env = { NATS_URL: 'nats://127.0.0.1:4222', MONGO_URL: 'mongodb://127.0.0.1:27017/' }

describe('appointments config', () => {
  it('waits 60 s for a rescheduled booking never seen unless told otherwise', () => {
    expect(loadConfig(env)).toMatchObject({ unknownRescheduleGraceMs: 60_000, relayIntervalMs: 1000 })
    expect(loadConfig({ ...env, CALSYNC_UNKNOWN_RESCHEDULE_GRACE: '5m' }).unknownRescheduleGraceMs).toBe(300_000)
    expect(loadConfig({ ...env, CALSYNC_UNKNOWN_RESCHEDULE_GRACE: '0s' }).unknownRescheduleGraceMs).toBe(0)
  })

  it('keeps claims of past days 48 h and idempotency answers 24 h unless told otherwise', () => {
    expect(loadConfig(env).retention).toEqual({ claimsMs: 48 * 3_600_000, idempotencyMs: 24 * 3_600_000 })
    const told = loadConfig({ ...env, CALSYNC_CLAIM_RETENTION: '0s', CALSYNC_IDEMPOTENCY_RETENTION: '168h' })
    expect(told.retention).toEqual({ claimsMs: 0, idempotencyMs: 168 * 3_600_000 })
    expect(() => loadConfig({ ...env, CALSYNC_IDEMPOTENCY_RETENTION: '0s' })).toThrow(ConfigError)
  })

  it('handles 16 messages at once per consumer unless told otherwise', () => {
    expect(loadConfig(env).consumerConcurrency).toBe(16)
    expect(loadConfig({ ...env, CALSYNC_CONSUMER_CONCURRENCY: '4' }).consumerConcurrency).toBe(4)
  })

  it.each(['0', '2.5', 'many'])('refuses CALSYNC_CONSUMER_CONCURRENCY=%s, naming it', (value) => {
    expect(() => loadConfig({ ...env, CALSYNC_CONSUMER_CONCURRENCY: value })).toThrow(/CALSYNC_CONSUMER_CONCURRENCY/)
  })

  it.each(['soon', '10s,20s', '-5s'])('refuses CALSYNC_UNKNOWN_RESCHEDULE_GRACE=%s, naming it', (value) => {
    let refused: unknown
    try {
      loadConfig({ ...env, CALSYNC_UNKNOWN_RESCHEDULE_GRACE: value })
    } catch (error) {
      refused = error
    }
    expect(refused).toBeInstanceOf(ConfigError)
    expect((refused as ConfigError).variable).toBe('CALSYNC_UNKNOWN_RESCHEDULE_GRACE')
  })
})
