import { createHttpApp, type Logger, type ReadinessChecks } from '@calsync/service-kit'
import type { FastifyInstance } from 'fastify'

export interface AppDeps {
  logger: Logger
  readiness: ReadinessChecks
}

export function buildApp(deps: AppDeps): FastifyInstance {
  return createHttpApp({ logger: deps.logger, readiness: deps.readiness })
}
