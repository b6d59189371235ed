import { trace } from '@opentelemetry/api'
import { type DestinationStream, type Logger, pino } from 'pino'
import type { LogLevel } from './config.ts'

export type { Logger } from 'pino'

/** Keys whose values never reach a log line, at any depth (I7). */
const SECRET_KEY = /(api[-_]?key|secret|token|password|authorization|cookie|x-cal-signature)/i
export const REDACTED = '[redacted]'
const BINDING_SECRET_NAMES = ['apiKey', 'api_key', 'webhookSecret', 'secret', 'token', 'password', 'authorization']
const BINDING_SECRET_PATHS = BINDING_SECRET_NAMES.flatMap((name) => [name, `*.${name}`])

function redactDeep(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (value === null || typeof value !== 'object' || depth > 8) return value
  if (seen.has(value)) return '[circular]'
  seen.add(value)
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1, seen))
  // Class instances (errors, requests) are left to their serializers; only plain data is walked.
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) return value
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : redactDeep(item, depth + 1, seen)
  }
  return out
}

/** Censors secret-named fields of any object at any depth; also used for error bodies. */
export function redactSecrets<T>(value: T): T {
  return redactDeep(value, 0, new WeakSet()) as T
}

export interface LoggerOptions {
  name: string
  level: LogLevel
  /** Defaults to stdout; tests pass a stream to read the lines back. */
  destination?: DestinationStream
}

/** The one pino logger of a process: secrets redacted by key, trace/span ids on every line. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      base: { service: options.name },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (object) => redactSecrets(object) },
      // Child-logger bindings bypass formatters.log; redact their usual secret names by path.
      redact: { paths: BINDING_SECRET_PATHS, censor: REDACTED },
      mixin() {
        const spanContext = trace.getActiveSpan()?.spanContext()
        return spanContext ? { traceId: spanContext.traceId, spanId: spanContext.spanId } : {}
      },
      serializers: {
        err: pino.stdSerializers.err,
        // Fastify's request serializer would log headers; keep it to what an operator needs.
        req: (req: { method: string; url: string; id?: string }) => ({ method: req.method, url: req.url, id: req.id }),
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  )
}
