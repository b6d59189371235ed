import { createHash, timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { ERROR_CODES } from '@calsync/contracts'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import type { Logger } from 'pino'
import { PROMETHEUS_CONTENT_TYPE, type ServiceMetrics } from './metrics.ts'

/**
 * True when `header` is `Bearer <token>`. Both sides are hashed first, so the comparison takes
 * the same time whatever the length or the first differing character of what was sent.
 */
export function bearerTokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer +(\S+)\s*$/i.exec(header ?? '')?.[1]
  if (given === undefined) return false
  const digest = (text: string) => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(given), digest(token))
}

/** `GET /metrics`, behind the registry's token when it has one. Scrapes are not access-logged. */
export function registerMetricsRoute(app: FastifyInstance, metrics: ServiceMetrics): void {
  const { token } = metrics.access
  app.get('/metrics', { logLevel: 'warn' }, async (request, reply) => {
    if (token !== undefined && !bearerTokenMatches(request.headers.authorization, token)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="metrics"')
        .send({ error: ERROR_CODES.unauthorized, message: 'GET /metrics needs Authorization: Bearer <metrics token>' })
    }
    return reply.type(PROMETHEUS_CONTENT_TYPE).send(await metrics.scrape())
  })
}

export interface MetricsServer {
  /** The port bound (the one asked for, or the one the system chose for 0). */
  port: number
  close(): Promise<void>
}

/** The listener of `CALSYNC_METRICS_PORT`: `/metrics` and nothing else, so it can be firewalled apart. */
export async function startMetricsServer(options: {
  metrics: ServiceMetrics
  host: string
  port: number
  logger: Logger
}): Promise<MetricsServer> {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'metrics-server' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  })
  registerMetricsRoute(app, options.metrics)
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: ERROR_CODES.notFound,
      message: `this port serves GET /metrics only, not ${request.url.split('?')[0]}`,
    }),
  )
  await app.listen({ host: options.host, port: options.port })
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() }
}
