import { createHttpApp, type Logger, type ReadinessChecks, type ServiceMetrics } from '@calsync/service-kit'
import type { FastifyInstance } from 'fastify'

export interface AppDeps {
  logger: Logger
  readiness: ReadinessChecks
  /** This service's registry, served as `/metrics`. */
  metrics: ServiceMetrics
}

/** calcom-sync's HTTP port: health, readiness and metrics only. */
export function buildApp(deps: AppDeps): FastifyInstance {
  return createHttpApp({ logger: deps.logger, readiness: deps.readiness, metrics: deps.metrics })
}
