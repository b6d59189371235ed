import { consumerDefinitions, type Names } from '@calsync/contracts'
import {
  createPoisonReporter,
  type Logger,
  type Meter,
  observeConsumerBacklog,
  type TenantRegistry,
} from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Db } from 'mongodb'
import { createAppointmentsService } from './appointments/appointments-service.ts'
import type { EventDoc } from './appointments/appointments-store.ts'
import { createAppointmentsStore } from './appointments/appointments-store.ts'
import { createChangeRecorder } from './appointments/change-recorder.ts'
import { createClaimSweeper } from './appointments/claim-sweeper.ts'
import { createIdempotency } from './appointments/idempotency.ts'
import { createSlotClaims } from './appointments/slot-claims.ts'
import { createBearerAuth } from './auth/bearer-auth.ts'
import { createCalcomBookingHandler } from './calcom/calcom-booking-handler.ts'
import { startCalcomWebhookConsumer } from './calcom/calcom-webhook-consumer.ts'
import { startCommandsResponder } from './commands/commands-responder.ts'
import { createResync } from './commands/resync.ts'
import { createAppointmentsMetrics } from './metrics.ts'
import { startOutboxRelay } from './outbox/outbox-relay.ts'
import { createReviewPublisher } from './review/review-publisher.ts'
import { startSyncResultsConsumer } from './sync/sync-results-consumer.ts'

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
  /** Runs after each durable event write, before anything else (fault injection in tests). */
  afterEventWrite?: (event: EventDoc) => void
}

/**
 * The object graph of the appointments service, shared by main.ts and the tests so both run the
 * same wiring against real NATS and a real database.
 */
export async function startComponents(deps: ComponentDeps) {
  const store = createAppointmentsStore(deps.db)
  await store.ensureIndexes()
  const claims = createSlotClaims(store)
  const metrics = createAppointmentsMetrics(deps.meter)
  let kick = () => {}
  const recorder = createChangeRecorder({
    store,
    onRecorded: (event) => {
      deps.afterEventWrite?.(event)
      kick()
    },
  })
  const relay = startOutboxRelay({
    store,
    recorder,
    js: deps.js,
    names: deps.names,
    logger: deps.logger,
    metrics,
    intervalMs: deps.relayIntervalMs,
  })
  kick = relay.kick
  const sweep = createClaimSweeper({ store, logger: deps.logger })
  const sweeper = setInterval(() => {
    sweep().catch((error: unknown) => deps.logger.warn({ err: error }, 'slot claim sweep failed'))
  }, 60_000)
  const service = createAppointmentsService({ store, claims, recorder, tenants: deps.tenants })
  const reviews = createReviewPublisher({ js: deps.js, names: deps.names })
  const handler = createCalcomBookingHandler({
    store,
    claims,
    recorder,
    tenants: deps.tenants,
    reviews,
    logger: deps.logger,
  })
  const onInvalid = createPoisonReporter({ js: deps.js, names: deps.names })
  const webhooks = await startCalcomWebhookConsumer({
    js: deps.js,
    names: deps.names,
    handler,
    logger: deps.logger,
    metrics,
    onInvalid,
  })
  const syncResults = await startSyncResultsConsumer({
    js: deps.js,
    names: deps.names,
    store,
    logger: deps.logger,
    onInvalid,
  })
  const consumers = consumerDefinitions(deps.names)
  const backlog = observeConsumerBacklog({
    meter: deps.meter,
    js: deps.js,
    consumers: [consumers.appointmentsWebhooks, consumers.appointmentsSyncResults],
    logger: deps.logger,
  })
  const resync = createResync({ store, onEvent: () => kick() })
  const commands = startCommandsResponder({ nc: deps.nc, names: deps.names, resync, logger: deps.logger })
  return {
    store,
    service,
    resync,
    relay,
    idempotency: createIdempotency(store),
    authenticate: createBearerAuth(deps.tenants),
    sweep,
    consumersRunning: () => webhooks.isRunning() && syncResults.isRunning(),
    /** Stop order: command responders and consumers (in-flight messages finish), then the relay. */
    async stop() {
      clearInterval(sweeper)
      backlog.stop()
      await commands.stop()
      await webhooks.stop()
      await syncResults.stop()
      await relay.stop()
    },
  }
}

export type Components = Awaited<ReturnType<typeof startComponents>>
