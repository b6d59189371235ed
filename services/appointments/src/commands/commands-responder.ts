import {
  createSchemaCheck,
  ERROR_CODES,
  HistoryRequest,
  type Names,
  ReconcileViewRequest,
  ResyncRequest,
  type SchemaCheck,
  SyncStatsRequest,
} from '@calsync/contracts'
import { type Logger, serveCommand } from '@calsync/service-kit'
import type { NatsConnection, Subscription } from '@nats-io/transport-node'
import type { AppointmentHistory } from '../history/appointment-history.ts'
import type { ReconcileView } from './reconcile-view.ts'
import type { Resync } from './resync.ts'

const checkResync = createSchemaCheck(ResyncRequest)
const checkStats = createSchemaCheck(SyncStatsRequest)
const checkReconcileView = createSchemaCheck(ReconcileViewRequest)
const checkHistory = createSchemaCheck(HistoryRequest)

/**
 * Answers the commands other services send the owner of the appointment data (request/reply on
 * core NATS, one queue group so each request is answered once however many instances run).
 */
export function startCommandsResponder(deps: {
  nc: NatsConnection
  names: Names
  resync: Resync
  reconcileView: ReconcileView
  history: AppointmentHistory
  logger: Logger
}) {
  const log = deps.logger.child({ component: 'commands' })
  const serve = <T>(command: string, check: SchemaCheck<T>, run: (request: T) => Promise<unknown>): Subscription =>
    serveCommand({
      nc: deps.nc,
      subject: deps.names.subjects.appointmentsCommand(command),
      queue: 'appointments',
      check,
      run,
      logger: log,
    })

  const subscriptions = [
    serve('resync', checkResync, (request) => {
      log.info(
        { tenantId: request.tenantId, dryRun: request.dryRun, requestedBy: request.requestedBy },
        'resync requested',
      )
      return deps.resync.resync(request)
    }),
    serve('sync-stats', checkStats, (request) => deps.resync.syncStats(request)),
    serve('reconcile-view', checkReconcileView, (request) => deps.reconcileView.view(request)),
    serve('history', checkHistory, async (request) => {
      const tenantId = request.tenantId ?? (await deps.history.tenantOf(request.appointmentId))
      const entries = tenantId ? await deps.history.read(tenantId, request.appointmentId) : undefined
      if (!entries) return { error: ERROR_CODES.notFound, message: `appointment ${request.appointmentId} not found` }
      return { appointmentId: request.appointmentId, entries }
    }),
  ]
  return {
    async stop() {
      for (const subscription of subscriptions) await subscription.drain()
    },
  }
}
