import type { Names } from '@calsync/contracts'
import {
  type Logger,
  type Meter,
  observeConsumerBacklog,
  openHandlingAttempts,
  type TenantRegistry,
} from '@calsync/service-kit'
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Db } from 'mongodb'
import { createReviewAuth } from './auth/review-auth.ts'
import { createAppointmentsCommands } from './commands/appointments-commands.ts'
import { startMaxDeliveriesConsumer } from './intake/max-deliveries-consumer.ts'
import { startReviewRequestsConsumer } from './intake/review-requests-consumer.ts'
import { startSyncResultsConsumer } from './intake/sync-results-consumer.ts'
import { createReviewItemsStore } from './items/review-items-store.ts'
import { observeOpenReviewItems } from './metrics.ts'
import { createReconcileCommands } from './reconcile/reconcile-commands.ts'
import { createStoredMessageReplay } from './replay/stored-message-replay.ts'
import { createSyncResultsStore } from './stats/sync-results-store.ts'
import { reviewTopology } from './topology.ts'

export interface ComponentDeps {
  db: Db
  nc: NatsConnection
  js: JetStreamClient
  jsm: JetStreamManager
  names: Names
  tenants: TenantRegistry
  logger: Logger
  /** Where this service's instruments live (its `/metrics` registry). */
  meter: Meter
  adminToken: string | undefined
  commandTimeoutMs: number
  /** A reconcile pass lists Cal.com within the reconciler's share of the budget: minutes, at worst. */
  reconcileTimeoutMs?: number
  clock?: () => Date
}

const DEFAULT_RECONCILE_TIMEOUT_MS = 5 * 60_000

/**
 * The object graph of the review service, shared by main.ts and the tests so both run the same
 * wiring against real NATS and a real database. Streams and durable consumers must exist.
 */
export async function startComponents(deps: ComponentDeps) {
  const clock = deps.clock ?? (() => new Date())
  const items = createReviewItemsStore(deps.db)
  const results = createSyncResultsStore(deps.db)
  await items.ensureIndexes()
  await results.ensureIndexes()
  const attempts = openHandlingAttempts({ js: deps.js, names: deps.names })
  const common = { js: deps.js, names: deps.names, items, logger: deps.logger, clock, attempts }
  const advisories = await startMaxDeliveriesConsumer({ ...common, jsm: deps.jsm })
  const reviewRequests = await startReviewRequestsConsumer(common)
  const syncResults = await startSyncResultsConsumer({ ...common, results })
  const openItems = observeOpenReviewItems({ meter: deps.meter, items, logger: deps.logger })
  const backlog = observeConsumerBacklog({
    meter: deps.meter,
    js: deps.js,
    consumers: reviewTopology(deps.names).consumers,
    logger: deps.logger,
  })
  return {
    items,
    results,
    clock,
    commands: createAppointmentsCommands({ nc: deps.nc, names: deps.names, timeoutMs: deps.commandTimeoutMs }),
    reconcile: createReconcileCommands({
      nc: deps.nc,
      names: deps.names,
      timeoutMs: deps.reconcileTimeoutMs ?? DEFAULT_RECONCILE_TIMEOUT_MS,
    }),
    replay: createStoredMessageReplay({
      js: deps.js,
      jsm: deps.jsm,
      names: deps.names,
      timeoutMs: deps.commandTimeoutMs,
    }),
    authenticate: createReviewAuth({ tenants: deps.tenants, adminToken: deps.adminToken }),
    consumersRunning: () => reviewRequests.isRunning() && syncResults.isRunning() && advisories.isRunning(),
    /** Stop order: consumers (in-flight messages finish). */
    async stop() {
      openItems.stop()
      backlog.stop()
      await reviewRequests.stop()
      await syncResults.stop()
      await advisories.stop()
    },
  }
}

export type Components = Awaited<ReturnType<typeof startComponents>>
