import { ConfigError, createEnvReader, loadBaseConfig, parseDurationList } from '@calsync/service-kit'
import { describe, expect, it } from 'vitest'

const options = {
  serviceName: 'appointments',
  defaultDbName: 'calsync_appointments',
  portVariable: 'APPOINTMENTS_PORT',
  defaultPort: 8081,
}
const env = { NATS_URL: 'nats://127.0.0.1:4222', MONGO_URL: 'mongodb://127.0.0.1:27017/' }

function refusal(overrides: Record<string, string | undefined>): ConfigError {
  try {
    loadBaseConfig({ ...env, ...overrides }, options)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected the config to be refused')
}

describe('service config', () => {
  it('applies defaults', () => {
    const config = loadBaseConfig(env, options)
    expect(config).toMatchObject({
      port: 8081,
      dbName: 'calsync_appointments',
      logLevel: 'info',
      tenantsFile: undefined,
    })
    expect(config.names.streams.appointments).toBe('CALSYNC_APPOINTMENTS')
  })

  it('fails fast naming the bad variable', () => {
    expect(refusal({ NATS_URL: undefined }).variable).toBe('NATS_URL')
    expect(refusal({ MONGO_URL: 'postgres://x' }).message).toBe(
      'MONGO_URL: must use mongodb or mongodb+srv, got postgres:',
    )
    expect(refusal({ APPOINTMENTS_PORT: 'eighty' }).message).toContain(
      'APPOINTMENTS_PORT: "eighty" is not a port number',
    )
    expect(refusal({ LOG_LEVEL: 'loud' }).variable).toBe('LOG_LEVEL')
    expect(refusal({ CALSYNC_NAMESPACE: 'a.b' }).variable).toBe('CALSYNC_NAMESPACE')
    expect(refusal({ OTEL_BSP_SCHEDULE_DELAY: '1s' }).variable).toBe('OTEL_BSP_SCHEDULE_DELAY')
  })

  it('listens on loopback unless HOST says otherwise', () => {
    expect(loadBaseConfig(env, options).host).toBe('127.0.0.1')
    expect(loadBaseConfig({ ...env, HOST: '0.0.0.0' }, options).host).toBe('0.0.0.0')
  })

  it('reads the metrics token and port, refusing a short token and the service port itself', () => {
    expect(loadBaseConfig(env, options)).toMatchObject({ metricsToken: undefined, metricsPort: undefined })
    const token = 'metrics-token-0123456789'
    expect(
      loadBaseConfig({ ...env, CALSYNC_METRICS_TOKEN: token, CALSYNC_METRICS_PORT: '9464' }, options),
    ).toMatchObject({ metricsToken: token, metricsPort: 9464 })
    expect(refusal({ CALSYNC_METRICS_TOKEN: 'short' }).message).toBe(
      'CALSYNC_METRICS_TOKEN: must be at least 16 characters',
    )
    expect(refusal({ CALSYNC_METRICS_PORT: '8081' }).message).toBe(
      'CALSYNC_METRICS_PORT: must differ from APPOINTMENTS_PORT (8081)',
    )
    expect(refusal({ CALSYNC_METRICS_PORT: 'nine' }).variable).toBe('CALSYNC_METRICS_PORT')
  })

  it('reads the span export delay in milliseconds, as OpenTelemetry defines it', () => {
    expect(loadBaseConfig({ ...env, OTEL_BSP_SCHEDULE_DELAY: '100' }, options).otlpExportDelayMs).toBe(100)
    expect(loadBaseConfig(env, options).otlpExportDelayMs).toBeUndefined()
  })

  it('does not echo a connection string that may hold a password', () => {
    expect(refusal({ MONGO_URL: 'not a url with s3cret' }).message).not.toContain('s3cret')
  })

  it('does not need MONGO_URL for a stateless service', () => {
    expect(loadBaseConfig({ NATS_URL: env.NATS_URL }, { ...options, useMongo: false }).mongoUrl).toBe('')
  })

  it('reads one duration, its fallback when unset, and refuses a list rather than cut it to its first', () => {
    const read = (value?: string) => createEnvReader({ WAIT: value })
    expect(read().duration('WAIT', '60s')).toBe(60_000)
    expect(read('5m').duration('WAIT', '60s')).toBe(300_000)
    expect(read('0s').duration('WAIT', '60s')).toBe(0)
    for (const [value, positive] of [
      ['10s,20s', false],
      ['soon', false],
      ['0s', true],
    ] as const) {
      let refused: unknown
      try {
        read(value).duration('WAIT', '60s', { positive })
      } catch (error) {
        refused = error
      }
      expect(refused, value).toBeInstanceOf(ConfigError)
      expect((refused as ConfigError).variable).toBe('WAIT')
    }
  })

  it('parses backoff lists', () => {
    expect(parseDurationList('200ms,1s,5m')).toEqual([200, 1000, 300_000])
    expect(() => parseDurationList('1s,,5s')).toThrow(/comma list/)
    expect(() => parseDurationList('soon')).toThrow(/not a duration/)
  })
})
