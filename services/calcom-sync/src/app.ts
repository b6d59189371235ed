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
  return createHttpApp({
    logger: deps.logger,
    readiness: deps.readiness,
    metrics: deps.metrics,
    api: {
      title: 'calsync calcom-sync',
      version: '0.1.0',
      description: 'The Cal.com sync worker: its HTTP port serves health, readiness and metrics only.',
    },
  })
}
