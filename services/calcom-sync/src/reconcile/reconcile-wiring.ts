import {
  createSchemaCheck,
  ERROR_CODES,
  type Names,
  ReconcileRequest,
  ReconcileViewReply,
  ResyncReply,
  type VerifiedWebhook,
} from '@calsync/contracts'
import {
  type CommandFailures,
  DependencyUnavailableError,
  type Logger,
  openWebhookActivity,
  publishMessage,
  sendCommand,
  serveCommand,
  type TenantRegistry,
} from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Db } from 'mongodb'
import type { CalcomClient } from '../calcom/calcom-client.ts'
import type { SyncMetrics } from '../metrics.ts'
import type { SyncStore } from '../sync/sync-store.ts'
import { startReconcileRunner } from './reconcile-runner.ts'
import { createReconcileStore } from './reconcile-store.ts'
import { createTenantReconciler, type ReconcilerSettings } from './tenant-reconciler.ts'
import type { SilenceSettings } from './webhook-silence.ts'

const checkViewReply = createSchemaCheck(ReconcileViewReply)
const checkResyncReply = createSchemaCheck(ResyncReply)
const checkReconcile = createSchemaCheck(ReconcileRequest)

const failures: CommandFailures = {
  unavailable: (message, cause) => new DependencyUnavailableError(message, cause),
  badRequest: (message) => new Error(`the appointments service refused the reconciler's request: ${message}`),
}

/** How long the appointments service may take over one reconcile command. */
const COMMAND_TIMEOUT_MS = 30_000

/**
 * The reconciler's object graph: the pass (tenant-reconciler.ts) with its edges on NATS (what
 * calsync knows, re-drives, replayed webhooks, drift items), the schedule, and the
 * `calsync.calcom-sync.reconcile` command the review API sends.
 */
export async function startReconciler(deps: {
  db: Db
  nc: NatsConnection
  js: JetStreamClient
  names: Names
  tenants: TenantRegistry
  calcom: CalcomClient
  leases: SyncStore
  owner: string
  intervalMs: number
  settings: ReconcilerSettings
  silence: SilenceSettings
  metrics: SyncMetrics
  logger: Logger
}) {
  const { names } = deps
  const store = createReconcileStore(deps.db)
  const activity = openWebhookActivity({ js: deps.js, names, logger: deps.logger })
  const command = <T>(name: string, body: object, check: Parameters<typeof sendCommand<T>>[0]['check']) =>
    sendCommand({
      nc: deps.nc,
      subject: names.subjects.appointmentsCommand(name),
      service: 'appointments',
      command: name,
      body,
      check,
      timeoutMs: COMMAND_TIMEOUT_MS,
      failures,
    })
  const reconciler = createTenantReconciler({
    calcom: deps.calcom,
    store,
    view: (request) => command('reconcile-view', request, checkViewReply),
    async redrive(tenantId, appointmentIds) {
      await command(
        'resync',
        {
          type: 'appointments.resync',
          tenantId,
          appointmentIds,
          dryRun: false,
          requestedBy: 'reconciler',
          verify: true,
        },
        checkResyncReply,
      )
    },
    async replay(tenantId, deliveryId, webhook) {
      const message: VerifiedWebhook = {
        type: 'calcom.webhook.verified',
        tenantId,
        deliveryId,
        receivedAt: new Date().toISOString(),
        webhook,
        via: 'reconciler',
      }
      await publishMessage(deps.js, names.subjects.webhook(tenantId, webhook.triggerEvent), message, {
        msgId: deliveryId,
        tenantId,
        origin: 'calcom',
      })
    },
    async review(request) {
      await publishMessage(deps.js, names.subjects.review(request.tenantId, request.kind), request, {
        // A resolution is a message of its own: under the cause's id JetStream would drop it as a repeat.
        msgId: request.resolved ? `${request.causeId}:resolved` : request.causeId,
        tenantId: request.tenantId,
        origin: 'system',
      })
    },
    lastWebhookAt: (tenantId) => activity.lastAccepted(tenantId),
    onSilence: (tenantId, silent) => deps.metrics.webhookSilence(tenantId, silent),
    onDifference: (tenantId, kind) => deps.metrics.reconcileDifference(tenantId, kind),
    settings: deps.settings,
    silence: deps.silence,
    logger: deps.logger,
  })
  const runner = startReconcileRunner({
    reconciler,
    tenants: deps.tenants,
    store,
    leases: deps.leases,
    owner: deps.owner,
    intervalMs: deps.intervalMs,
    logger: deps.logger,
  })
  const log = deps.logger.child({ component: 'reconcile-commands' })
  const subscription = serveCommand({
    nc: deps.nc,
    subject: names.subjects.calcomSyncCommand('reconcile'),
    queue: 'calcom-sync',
    check: checkReconcile,
    logger: log,
    async run(request) {
      log.info(
        { tenantId: request.tenantId, dryRun: request.dryRun, requestedBy: request.requestedBy },
        'reconcile requested',
      )
      const reply = await runner.reconcile(request.tenantId, request.dryRun)
      return reply ?? { error: ERROR_CODES.notFound, message: `no tenant ${request.tenantId}` }
    },
  })
  return {
    runner,
    async stop() {
      await subscription.drain()
      await runner.stop()
    },
  }
}
