import { createHttpApp, type Logger, type ReadinessChecks, type ServiceMetrics } from '@calsync/service-kit'
import type { FastifyInstance } from 'fastify'
import { appointmentsRoutes } from './appointments/appointments-routes.ts'
import type { AppointmentsService } from './appointments/appointments-service.ts'
import type { AppointmentsStore } from './appointments/appointments-store.ts'
import type { Idempotency } from './appointments/idempotency.ts'
import type { Authenticate } from './auth/bearer-auth.ts'
import type { AppointmentHistory } from './history/appointment-history.ts'

export interface AppDeps {
  logger: Logger
  readiness: ReadinessChecks
  /** This service's registry, served as `/metrics`. */
  metrics: ServiceMetrics
  service: AppointmentsService
  store: AppointmentsStore
  idempotency: Idempotency
  authenticate: Authenticate
  history: AppointmentHistory
}

/** The appointments REST API (DESIGN §4.4). No env, no listen, no connections. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = createHttpApp({
    logger: deps.logger,
    readiness: deps.readiness,
    metrics: deps.metrics,
    api: {
      title: 'calsync appointments API',
      version: '0.1.0',
      description:
        'Book, move and cancel appointments; every change is synced to Cal.com, and its sync state and history can be read back. Every route is scoped to the tenant of the bearer token.',
      bearerAuth:
        'A tenant’s token from the tenants file (`tokens[].token`): it decides the tenant and the origin (`retell`, `admin`, `api`, `system`) every change is tagged with.',
    },
  })
  app.register(appointmentsRoutes, deps)
  return app
}
