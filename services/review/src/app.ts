import { createHttpApp, type Logger, type ReadinessChecks, type ServiceMetrics } from '@calsync/service-kit'
import type { FastifyInstance } from 'fastify'
import type { Authenticate } from './auth/review-auth.ts'
import type { AppointmentsCommands } from './commands/appointments-commands.ts'
import { dashboardRoutes } from './dashboard/dashboard-routes.ts'
import { DependencyUnavailableError, StreamUnavailableError } from './errors.ts'
import { reviewItemsRoutes } from './items/review-items-routes.ts'
import type { ReviewItemsStore } from './items/review-items-store.ts'
import type { ReconcileCommands } from './reconcile/reconcile-commands.ts'
import { reconcileRoutes } from './reconcile/reconcile-routes.ts'
import type { StoredMessageReplay } from './replay/stored-message-replay.ts'
import { resyncRoutes } from './resync/resync-routes.ts'
import { statsRoutes } from './stats/stats-routes.ts'
import type { SyncResultsStore } from './stats/sync-results-store.ts'

export interface AppDeps {
  logger: Logger
  readiness: ReadinessChecks
  /** This service's registry, served as `/metrics`. */
  metrics: ServiceMetrics
  items: ReviewItemsStore
  results: SyncResultsStore
  commands: AppointmentsCommands
  reconcile: ReconcileCommands
  replay: StoredMessageReplay
  authenticate: Authenticate
  clock?: () => Date
}

/** The review API and dashboard (DESIGN §4.5). No env, no listen, no connections. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = createHttpApp({
    logger: deps.logger,
    readiness: deps.readiness,
    metrics: deps.metrics,
    api: {
      title: 'calsync review API',
      version: '0.1.0',
      description:
        'The review queue (what only an operator can settle), sync statistics, bulk re-sync and reconciliation with Cal.com, and the operator dashboard at `/`.',
      bearerAuth:
        'A tenant’s token from the tenants file (sees that tenant), or the operator token `CALSYNC_ADMIN_TOKEN` (sees every tenant).',
    },
  })
  const routeDeps = { ...deps, clock: deps.clock ?? (() => new Date()) }
  app.register(async (api) => {
    // A missing or bad token is a 401 before anything about the request is looked at.
    api.addHook('onRequest', async (request) => {
      deps.authenticate(request)
    })
    // The kit hides every 5xx message; these are the operator's answer ("start appointments").
    api.setErrorHandler((error, request, reply) => {
      if (!(error instanceof DependencyUnavailableError || error instanceof StreamUnavailableError)) throw error
      request.log.warn({ err: error }, 'a dependency of the review API is unavailable')
      return reply.code(503).send({ error: error.code, message: error.message })
    })
    await api.register(reviewItemsRoutes, routeDeps)
    await api.register(statsRoutes, routeDeps)
    await api.register(resyncRoutes, routeDeps)
    await api.register(reconcileRoutes, routeDeps)
  })
  app.register(dashboardRoutes)
  return app
}
