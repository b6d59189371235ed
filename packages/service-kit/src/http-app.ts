import { ERROR_CODES, type ErrorBody, TRACE_ID_HTTP_HEADER } from '@calsync/contracts'
import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify'
import type { Logger } from 'pino'
import { AppError } from './errors.ts'
import type { ServiceMetrics } from './metrics.ts'
import { registerMetricsRoute } from './metrics-endpoint.ts'
import { isDatabaseUnavailable } from './mongo.ts'
import { type ApiDescription, registerOpenApi } from './openapi.ts'

export type ReadinessChecks = () => Promise<Record<string, boolean>>

export interface HttpAppOptions {
  logger: Logger
  /** Named checks behind `GET /readyz`: all true → 200, else 503. */
  readiness: ReadinessChecks
  /** Served as `GET /metrics` as its `access` says: open, behind a token, or only on a port of its own. */
  metrics: ServiceMetrics
  bodyLimit?: number
  /** Heads the service's `GET /openapi.json`; the reference page is at `/docs`. */
  api?: ApiDescription
}

declare module 'fastify' {
  interface FastifyRequest {
    span: Span | null
  }
  interface FastifyContextConfig {
    /** false: the route logs its own outcome, so no access line is written for it. */
    accessLog?: boolean
  }
}

const tracer = trace.getTracer('calsync-http')

/**
 * A Fastify instance with what every calsync service shares: a server span per request that
 * continues an incoming `traceparent` and is answered as `x-trace-id`, `{ error, message }`
 * bodies for every failure, `/healthz` + `/readyz`, and `/metrics` for Prometheus. No listen, no env.
 */
export function createHttpApp(options: HttpAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    return503OnClosing: true,
    // One access line per request (onResponse below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Unknown fields are refused (400), not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  })
  registerOpenApi(app, options.api ?? { title: 'calsync service', version: '0.1.0', description: '' })

  // calsync APIs take JSON only: anything else is a 415, not a string handed to a handler.
  app.removeContentTypeParser('text/plain')
  app.decorateRequest('span', null)
  app.addHook('onRequest', (request, reply, done) => {
    const parent = propagation.extract(context.active(), request.headers)
    const route = request.routeOptions.url ?? 'unmatched'
    const span = tracer.startSpan(
      `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'http.route': route,
          'url.path': request.url.split('?')[0],
        },
      },
      parent,
    )
    request.span = span
    reply.header(TRACE_ID_HTTP_HEADER, span.spanContext().traceId)
    // Everything after this hook (body parsing, handler, later hooks) runs inside the span.
    context.with(trace.setSpan(parent, span), done)
  })
  app.addHook('onResponse', (request, reply, done) => {
    request.span?.setAttribute('http.response.status_code', reply.statusCode)
    if (reply.statusCode >= 500) request.span?.setStatus({ code: SpanStatusCode.ERROR })
    request.span?.end()
    // The route's log level applies (probes log at warn, so not at all here).
    if (request.routeOptions.config.accessLog !== false) {
      request.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
    }
    done()
  })

  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const { statusCode, body } = toErrorResponse(error)
    const retryAfter =
      error instanceof AppError
        ? error.retryAfterSeconds
        : isDatabaseUnavailable(error)
          ? DATABASE_RETRY_AFTER_SECONDS
          : undefined
    if (retryAfter !== undefined) {
      reply.header('retry-after', String(retryAfter))
      if (!(error instanceof AppError)) request.log.warn({ err: error }, 'database unavailable; answered 503')
    } else if (statusCode >= 500) {
      request.log.error({ err: error }, 'request failed')
      request.span?.recordException(error)
    }
    return reply.code(statusCode).send(body)
  })
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: ERROR_CODES.notFound, message: `no route for ${request.method} ${request.url.split('?')[0]}` }),
  )

  // Probes and scrapes arrive every few seconds; logging each would bury the requests that matter.
  const quiet = { logLevel: 'warn' as const }
  app.get('/healthz', quiet, async () => ({ status: 'ok' }))
  app.get('/readyz', quiet, async (_request, reply) => {
    const checks = await options.readiness()
    const ready = Object.values(checks).every(Boolean)
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks })
  })
  // With a metrics port of its own, the service port answers 404 here (the not-found handler).
  if (options.metrics.access.port === undefined) registerMetricsRoute(app, options.metrics)
  return app
}

/** How soon a client may retry when the database was unreachable (a restart, a busy SQLite). */
const DATABASE_RETRY_AFTER_SECONDS = 2

const FASTIFY_CODES: Record<string, { statusCode: number; error: ErrorBody['error'] }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { statusCode: 413, error: ERROR_CODES.payloadTooLarge },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { statusCode: 415, error: ERROR_CODES.unsupportedMediaType },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { statusCode: 400, error: ERROR_CODES.badRequest },
  FST_ERR_CTP_EMPTY_JSON_BODY: { statusCode: 400, error: ERROR_CODES.badRequest },
  FST_ERR_CTP_INVALID_JSON_BODY: { statusCode: 400, error: ERROR_CODES.badRequest },
}

/** Maps any error to the status and `{ error, message }` body the API answers; 5xx detail stays hidden. */
export function toErrorResponse(error: FastifyError | AppError | Error): { statusCode: number; body: ErrorBody } {
  if (error instanceof AppError) {
    // A passing unavailability is no internal error: its message tells the caller what to do.
    const hidden = error.statusCode >= 500 && error.retryAfterSeconds === undefined
    return {
      statusCode: error.statusCode,
      body: { error: error.code, message: hidden ? 'internal error' : error.message },
    }
  }
  const fastifyError = error as FastifyError
  if (fastifyError.validation) {
    return { statusCode: 400, body: { error: ERROR_CODES.badRequest, message: fastifyError.message } }
  }
  const known = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined
  if (known) return { statusCode: known.statusCode, body: { error: known.error, message: fastifyError.message } }
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return { statusCode: 400, body: { error: ERROR_CODES.badRequest, message: 'body is not valid JSON' } }
  }
  if (isDatabaseUnavailable(error)) {
    return {
      statusCode: 503,
      body: { error: ERROR_CODES.unavailable, message: 'the database is unavailable; retry shortly' },
    }
  }
  const statusCode = fastifyError.statusCode && fastifyError.statusCode < 500 ? fastifyError.statusCode : 500
  if (statusCode < 500) return { statusCode, body: { error: ERROR_CODES.badRequest, message: fastifyError.message } }
  return { statusCode: 500, body: { error: ERROR_CODES.internal, message: 'internal error' } }
}
