import { createHttpApp, type Logger, type ReadinessChecks } from '@calsync/service-kit'
import type { FastifyInstance } from 'fastify'

export interface AppDeps {
  logger: Logger
  readiness: ReadinessChecks
}

/** The gateway's HTTP surface; the Cal.com webhook route arrives with the inbound feature. */
export function buildApp(deps: AppDeps): FastifyInstance {
  return createHttpApp({ logger: deps.logger, readiness: deps.readiness, bodyLimit: 256 * 1024 })
}
