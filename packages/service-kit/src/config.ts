import { createNames, type Names } from '@calsync/contracts'
import { parseDurationList } from './durations.ts'
import { ConfigError } from './errors.ts'

type Env = Record<string, string | undefined>

/** Reads env variables with validation that names the variable at fault. */
export function createEnvReader(env: Env) {
  const read = (name: string) => {
    const value = env[name]
    return value === undefined || value.trim() === '' ? undefined : value.trim()
  }
  return {
    string(name: string, fallback?: string): string {
      const value = read(name) ?? fallback
      if (value === undefined) throw new ConfigError(name, 'is required but not set')
      return value
    },
    optional(name: string): string | undefined {
      return read(name)
    },
    port(name: string, fallback: number): number {
      const text = read(name)
      if (text === undefined) return fallback
      const port = Number(text)
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new ConfigError(name, `"${text}" is not a port number (0-65535)`)
      }
      return port
    },
    url(name: string, protocols: string[], fallback?: string): string {
      const text = read(name) ?? fallback
      if (text === undefined) throw new ConfigError(name, 'is required but not set')
      let url: URL
      try {
        url = new URL(text)
      } catch {
        throw new ConfigError(name, 'is not a valid URL')
      }
      if (!protocols.includes(url.protocol.replace(/:$/, ''))) {
        throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${url.protocol}`)
      }
      return text
    },
    /** A whole number above 0 (a count: concurrency, calls per minute). */
    positiveInteger(name: string, fallback: number): number {
      const text = read(name)
      const value = Number(text ?? fallback)
      if (!Number.isInteger(value) || value < 1) throw new ConfigError(name, 'must be a whole number above 0')
      return value
    },
    /** A whole number of milliseconds, as the OpenTelemetry variables take them. */
    milliseconds(name: string): number | undefined {
      const text = read(name)
      if (text === undefined) return undefined
      if (!/^\d+$/.test(text)) throw new ConfigError(name, `"${text}" is not a whole number of milliseconds`)
      return Number(text)
    },
    oneOf<const T extends string>(name: string, values: readonly T[], fallback: T): T {
      const text = read(name) ?? fallback
      if (!(values as readonly string[]).includes(text)) {
        throw new ConfigError(name, `"${text}" is not one of ${values.join(', ')}`)
      }
      return text as T
    },
    durations(name: string, fallback: string): number[] {
      try {
        return parseDurationList(read(name) ?? fallback)
      } catch (error) {
        throw new ConfigError(name, (error as Error).message)
      }
    },
    /** Exactly one duration (`60s`, `5m`, `0s`); a list is refused rather than cut to its first. */
    duration(name: string, fallback: string, options: { positive?: boolean } = {}): number {
      const given = this.durations(name, fallback)
      const [ms] = given
      if (given.length !== 1 || ms === undefined || (options.positive && ms <= 0)) {
        throw new ConfigError(name, `must be one ${options.positive ? 'positive ' : ''}duration like ${fallback}`)
      }
      return ms
    },
    names(name: string): Names {
      try {
        return createNames(read(name) ?? '')
      } catch (error) {
        throw new ConfigError(name, (error as Error).message)
      }
    },
  }
}

/**
 * Where a service listens when HOST is unset: loopback, because the demo tokens are public. Containers
 * set HOST=0.0.0.0 (Dockerfile, docker-compose.yml) so their port can be published.
 */
export const DEFAULT_HOST = '127.0.0.1'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** What every calsync service reads from the environment. */
export interface BaseConfig {
  serviceName: string
  natsUrl: string
  mongoUrl: string
  /** Database name of this service; each service owns its own (DESIGN §1). */
  dbName: string
  names: Names
  tenantsFile: string | undefined
  /** `CALSYNC_REGISTRY_KEY` as given; `startRuntime` checks and reads it before it connects. */
  registryKey: string | undefined
  logLevel: LogLevel
  otlpEndpoint: string | undefined
  /** `OTEL_BSP_SCHEDULE_DELAY`: milliseconds finished spans wait before a batch export. */
  otlpExportDelayMs: number | undefined
  host: string
  port: number
  /** `CALSYNC_METRICS_TOKEN`: when set, `/metrics` wants `Authorization: Bearer <token>`. */
  metricsToken: string | undefined
  /** `CALSYNC_METRICS_PORT`: when set, `/metrics` is served on this port only, not on `port`. */
  metricsPort: number | undefined
}

/** Shorter than this, a metrics token could be guessed by a scraper's retries. */
const MIN_METRICS_TOKEN_LENGTH = 16

export interface BaseConfigOptions {
  serviceName: string
  defaultDbName: string
  portVariable: string
  defaultPort: number
  /** False for the stateless gateway: MONGO_URL is then neither read nor required. */
  useMongo?: boolean
}

export function loadBaseConfig(env: Env, options: BaseConfigOptions): BaseConfig {
  const read = createEnvReader(env)
  const port = read.port(options.portVariable, options.defaultPort)
  const metricsToken = read.optional('CALSYNC_METRICS_TOKEN')
  if (metricsToken !== undefined && metricsToken.length < MIN_METRICS_TOKEN_LENGTH) {
    throw new ConfigError('CALSYNC_METRICS_TOKEN', `must be at least ${MIN_METRICS_TOKEN_LENGTH} characters`)
  }
  const metricsPort =
    read.optional('CALSYNC_METRICS_PORT') === undefined ? undefined : read.port('CALSYNC_METRICS_PORT', 0)
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) {
    throw new ConfigError('CALSYNC_METRICS_PORT', `must differ from ${options.portVariable} (${port})`)
  }
  return {
    serviceName: options.serviceName,
    natsUrl: read.string('NATS_URL'),
    mongoUrl: options.useMongo === false ? '' : read.url('MONGO_URL', ['mongodb', 'mongodb+srv']),
    dbName: read.string('CALSYNC_DB_NAME', options.defaultDbName),
    names: read.names('CALSYNC_NAMESPACE'),
    tenantsFile: read.optional('CALSYNC_TENANTS'),
    registryKey: read.optional('CALSYNC_REGISTRY_KEY'),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    otlpEndpoint: read.optional('OTEL_EXPORTER_OTLP_ENDPOINT'),
    otlpExportDelayMs: read.milliseconds('OTEL_BSP_SCHEDULE_DELAY'),
    host: read.string('HOST', DEFAULT_HOST),
    port,
    metricsToken,
    metricsPort,
  }
}
