import { consumerDefinitions, type Names, type VerifiedNoShow, type VerifiedWebhook } from '@calsync/contracts'
import {
  createPoisonReporter,
  type Logger,
  type Meter,
  observeConsumerBacklog,
  openHandlingAttempts,
  type TenantRegistry,
} from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Db } from 'mongodb'
import { createAppointmentLocks } from './appointments/appointment-lock.ts'
import { createAppointmentsService } from './appointments/appointments-service.ts'
import type { EventDoc } from './appointments/appointments-store.ts'
import { createAppointmentsStore } from './appointments/appointments-store.ts'
import { createChangeWriter } from './appointments/change-writer.ts'
import { createClaimSweeper } from './appointments/claim-sweeper.ts'
import { createConflicts } from './appointments/conflicts.ts'
import { createIdempotency } from './appointments/idempotency.ts'
import { createRetention, type RetentionOptions } from './appointments/retention.ts'
import { createSlotClaims } from './appointments/slot-claims.ts'
import { createBearerAuth } from './auth/bearer-auth.ts'
import { createCalcomBookingHandler } from './calcom/calcom-booking-handler.ts'
import { startCalcomWebhookConsumer, type WebhookWait } from './calcom/calcom-webhook-consumer.ts'
import { createTargets } from './calcom/webhook-target.ts'
import { createWebhookWaits } from './calcom/webhook-waits.ts'
import { startCommandsResponder } from './commands/commands-responder.ts'
import { createReconcileView } from './commands/reconcile-view.ts'
import { createResync } from './commands/resync.ts'
import { DEFAULT_CONSUMER_CONCURRENCY } from './config.ts'
import { createAppointmentHistory } from './history/appointment-history.ts'
import { createAppointmentsMetrics } from './metrics.ts'
import { startOutboxRelay } from './outbox/outbox-relay.ts'
import { createReviewPublisher } from './review/review-publisher.ts'
import { createSyncResultApplier, startSyncResultsConsumer } from './sync/sync-results-consumer.ts'

export interface ComponentDeps {
  db: Db
  nc: NatsConnection
  js: JetStreamClient
  names: Names
  tenants: TenantRegistry
  logger: Logger
  /** Where this service's instruments live (its `/metrics` registry). */
  meter: Meter
  relayIntervalMs: number
  /** Runs right after each durable event insert; a throw stops the change there (fault injection in tests). */
  afterEventWrite?: (event: EventDoc) => void | Promise<void>
  /** Test-only: sees each verified webhook before it is handled (a crash there stands for a fatal one). */
  beforeWebhook?: (message: VerifiedWebhook | VerifiedNoShow) => void
  /** Runs right before each event insert (tests: another change in between). */
  beforeEventWrite?: (event: EventDoc) => void | Promise<void>
  /** How long a webhook may wait for what it depends on (shorter in tests). */
  webhookWait?: WebhookWait
  /** How long a reschedule of a booking calsync never saw waits for it (60 s by default). */
  unknownRescheduleGraceMs?: number
  /** How long an API request waits for another change of its appointment (then 503). */
  apiLockWaitMs?: number
  /** How long a change may stay unfinished before the sweeper settles it. */
  sweepGraceMs?: number
  /** How long claims of past days and idempotency answers are kept (defaults: 48 h, 24 h). */
  retention?: RetentionOptions
  /** Messages each consumer handles at once (DEFAULT_CONSUMER_CONCURRENCY). */
  consumerConcurrency?: number
}

/** How often past claims, idempotency answers and webhook waits are pruned. */
const PRUNE_INTERVAL_MS = 3_600_000

/**
 * The object graph of the appointments service, shared by main.ts and the tests so both run the
 * same wiring against real NATS and a real database.
 */
export async function startComponents(deps: ComponentDeps) {
  const store = createAppointmentsStore(deps.db)
  await store.ensureIndexes()
  const claims = createSlotClaims(store)
  const metrics = createAppointmentsMetrics(deps.meter)
  const locks = createAppointmentLocks(store, {
    onReleaseFailed: (appointmentId, error) =>
      deps.logger.warn({ err: error, appointmentId }, 'could not free an appointment lock; it ends with its lease'),
  })
  const conflicts = createConflicts({ store })
  let kick = () => {}
  const writer = createChangeWriter({
    store,
    claims,
    conflicts,
    locks,
    logger: deps.logger,
    onRecorded: () => kick(),
    ...(deps.afterEventWrite ? { afterEventWrite: deps.afterEventWrite } : {}),
    ...(deps.beforeEventWrite ? { beforeEventWrite: deps.beforeEventWrite } : {}),
  })
  const relay = startOutboxRelay({
    store,
    js: deps.js,
    names: deps.names,
    logger: deps.logger,
    metrics,
    intervalMs: deps.relayIntervalMs,
  })
  kick = relay.kick
  const sweep = createClaimSweeper({
    store,
    locks,
    writer,
    logger: deps.logger,
    ...(deps.sweepGraceMs === undefined ? {} : { graceMs: deps.sweepGraceMs }),
  })
  const sweeper = setInterval(() => {
    sweep().catch((error: unknown) => deps.logger.warn({ err: error }, 'sweep of unfinished changes failed'))
  }, 15_000)
  const waits = createWebhookWaits(deps.db)
  const prune = createRetention({
    store,
    waits,
    logger: deps.logger,
    ...(deps.retention ? { options: deps.retention } : {}),
  })
  // Appointments written before days existed, filed once per database; lists read by start until
  // it is done. A failure is tried again with the next prune.
  let backfill: Promise<void> | undefined
  const runBackfill = () => {
    if (store.days.ready() || backfill) return
    backfill = store.days
      .backfill(store.appointments)
      .then((filed) => {
        if (filed > 0) deps.logger.info({ appointments: filed }, 'filed existing appointments by day')
      })
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'filing appointments by day failed; will retry'))
      .finally(() => {
        backfill = undefined
      })
  }
  runBackfill()
  const runPrune = () => {
    runBackfill()
    prune().catch((error: unknown) => deps.logger.warn({ err: error }, 'pruning past records failed'))
  }
  // Soon after start (a service restarted hourly would otherwise never prune), then every hour.
  const firstPrune = setTimeout(runPrune, 60_000)
  const pruner = setInterval(runPrune, PRUNE_INTERVAL_MS)
  const service = createAppointmentsService({
    store,
    locks,
    writer,
    tenants: deps.tenants,
    ...(deps.apiLockWaitMs === undefined ? {} : { lockWaitMs: deps.apiLockWaitMs }),
  })
  const reviews = createReviewPublisher({ js: deps.js, names: deps.names })
  const history = createAppointmentHistory({ db: deps.db, store })
  const handler = createCalcomBookingHandler({
    history,
    store,
    claims,
    locks,
    writer,
    conflicts,
    targets: createTargets(store),
    waits,
    tenants: deps.tenants,
    reviews,
    logger: deps.logger,
    ...(deps.unknownRescheduleGraceMs === undefined ? {} : { unknownRescheduleGraceMs: deps.unknownRescheduleGraceMs }),
  })
  const onInvalid = createPoisonReporter({ js: deps.js, names: deps.names })
  const attempts = openHandlingAttempts({ js: deps.js, names: deps.names })
  const concurrency = deps.consumerConcurrency ?? DEFAULT_CONSUMER_CONCURRENCY
  const webhooks = await startCalcomWebhookConsumer({
    js: deps.js,
    names: deps.names,
    handler,
    logger: deps.logger,
    metrics,
    onInvalid,
    attempts,
    concurrency,
    ...(deps.beforeWebhook ? { beforeWebhook: deps.beforeWebhook } : {}),
    ...(deps.webhookWait ? { wait: deps.webhookWait } : {}),
  })
  const syncResults = await startSyncResultsConsumer({
    js: deps.js,
    names: deps.names,
    apply: createSyncResultApplier({ store, locks, writer }),
    history,
    logger: deps.logger,
    onInvalid,
    attempts,
    concurrency,
  })
  const consumers = consumerDefinitions(deps.names)
  const backlog = observeConsumerBacklog({
    meter: deps.meter,
    js: deps.js,
    consumers: [consumers.appointmentsWebhooks, consumers.appointmentsSyncResults],
    logger: deps.logger,
  })
  const resync = createResync({ store, locks, writer, onEvent: () => kick() })
  const commands = startCommandsResponder({
    nc: deps.nc,
    names: deps.names,
    resync,
    reconcileView: createReconcileView({ store }),
    history,
    logger: deps.logger,
  })
  return {
    store,
    history,
    claims,
    writer,
    locks,
    service,
    resync,
    relay,
    idempotency: createIdempotency(store),
    authenticate: createBearerAuth(deps.tenants),
    sweep,
    prune,
    consumersRunning: () => webhooks.isRunning() && syncResults.isRunning(),
    /** Stop order: command responders and consumers (in-flight messages finish), then the relay. */
    async stop() {
      clearInterval(sweeper)
      clearTimeout(firstPrune)
      clearInterval(pruner)
      backlog.stop()
      await commands.stop()
      await webhooks.stop()
      await syncResults.stop()
      await relay.stop()
      await backfill
    },
  }
}

export type Components = Awaited<ReturnType<typeof startComponents>>
