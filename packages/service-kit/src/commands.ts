import {
  CommandError,
  createSchemaCheck,
  ERROR_CODES,
  extractTraceContext,
  formatIssues,
  injectTraceContext,
  type SchemaCheck,
} from '@calsync/contracts'
import {
  headers as createHeaders,
  errors,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node'
import { context, SpanKind, trace } from '@opentelemetry/api'
import type { Logger } from './logger.ts'
import { withSpan } from './spans.ts'

const tracer = trace.getTracer('calsync-commands')
const serverTracer = trace.getTracer('calsync-command-server')
const checkCommandError = createSchemaCheck(CommandError)

export interface CommandFailures {
  /** The serving service is down, slow, or could not run the command. */
  unavailable(message: string, cause?: unknown): Error
  /** The serving service refused the request as malformed. */
  badRequest(message: string): Error
  /** The serving service does not know what the request names (e.g. a tenant). */
  notFound?(message: string): Error
}

/**
 * One request/reply command over core NATS (the services' `calsync.<service>.<command>`
 * subjects): traced, answered within `timeoutMs`, the reply checked against its schema, and every
 * way it can go wrong turned into the caller's own errors.
 */
export async function sendCommand<T>(options: {
  nc: NatsConnection
  subject: string
  /** For messages: what was asked of whom, e.g. "the appointments service … resync". */
  service: string
  command: string
  body: object
  check: SchemaCheck<T>
  timeoutMs: number
  failures: CommandFailures
}): Promise<T> {
  const { subject, service, command, failures } = options
  const attributes = { 'messaging.system': 'nats', 'messaging.destination.name': subject }
  return withSpan(tracer, `send ${subject}`, { kind: SpanKind.CLIENT, attributes }, async () => {
    const headers = createHeaders()
    injectTraceContext(headers)
    let reply: Msg
    try {
      reply = await options.nc.request(subject, JSON.stringify(options.body), { timeout: options.timeoutMs, headers })
    } catch (error) {
      const noResponders = error instanceof errors.RequestError && error.isNoResponders()
      throw failures.unavailable(
        noResponders
          ? `the ${service} service is not running (no responder for ${command})`
          : `the ${service} service did not answer ${command} in time`,
        error,
      )
    }
    let decoded: unknown
    try {
      decoded = reply.json()
    } catch {
      decoded = undefined
    }
    const answer = options.check.check(decoded)
    if (answer.ok) return answer.value
    const failure = checkCommandError.check(decoded)
    if (failure.ok && failure.value.error === ERROR_CODES.badRequest) throw failures.badRequest(failure.value.message)
    if (failure.ok && failure.value.error === ERROR_CODES.notFound && failures.notFound) {
      throw failures.notFound(failure.value.message)
    }
    if (failure.ok) throw failures.unavailable(`the ${service} service could not run ${command}`, failure.value)
    throw failures.unavailable(
      `the ${service} service answered ${command} with an unexpected reply: ${formatIssues(answer.issues)}`,
    )
  })
}

/**
 * Serves one request/reply command: a queue group, so each request is answered once however many
 * instances run; a request that fails its schema is answered `bad_request`, a failure `internal`
 * (logged, never echoed), anything else with what `run` returns.
 */
export function serveCommand<T>(options: {
  nc: NatsConnection
  subject: string
  queue: string
  check: SchemaCheck<T>
  run: (request: T) => Promise<unknown>
  logger: Logger
}): Subscription {
  const { subject, logger: log } = options
  return options.nc.subscribe(subject, {
    queue: options.queue,
    callback: (error, msg: Msg) => {
      if (error) {
        log.error({ err: error, subject }, 'command subscription failed')
        return
      }
      const parent = extractTraceContext(msg.headers)
      void context.with(parent, () =>
        serverTracer.startActiveSpan(
          `process ${subject}`,
          {
            kind: SpanKind.SERVER,
            attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject },
          },
          async (span) => {
            try {
              let body: unknown
              try {
                body = msg.json()
              } catch {
                body = undefined
              }
              const checked = options.check.check(body)
              if (!checked.ok) {
                msg.respond(JSON.stringify({ error: ERROR_CODES.badRequest, message: formatIssues(checked.issues) }))
                return
              }
              msg.respond(JSON.stringify(await options.run(checked.value)))
            } catch (failure) {
              log.error({ err: failure, subject }, 'command failed')
              msg.respond(JSON.stringify({ error: ERROR_CODES.internal, message: 'the command failed' }))
            } finally {
              span.end()
            }
          },
        ),
      )
    },
  })
}
