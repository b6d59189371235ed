import type { ConsumerDefinition, Names } from '@calsync/contracts'
import {
  createPoisonReporter,
  type Logger,
  type Meter,
  observeConsumerBacklog,
  type TenantRegistry,
} from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { Db } from 'mongodb'
import { createCalcomClient } from './calcom/calcom-client.ts'
import { createSyncMetrics } from './metrics.ts'
import { createBookingReconciler } from './sync/booking-reconciler.ts'
import { createRateBudget } from './sync/rate-budget.ts'
import { createSyncReporter } from './sync/sync-reporter.ts'
import { createSyncStore } from './sync/sync-store.ts'
import { createSyncCounters, startSyncWorker } from './sync/sync-worker.ts'

export interface ComponentDeps {
  db: Db
  js: JetStreamClient
  names: Names
  tenants: TenantRegistry
  logger: Logger
  /** Where this service's instruments live (its `/metrics` registry). */
  meter: Meter
  definition: ConsumerDefinition
  calcomApiUrl: string
  calcomTimeoutMs: number
  backoffMs: number[]
  tenantCallsPerMinute: number
  concurrency: number
}

/** The object graph of calcom-sync, shared by main.ts and the tests. */
export async function startComponents(deps: ComponentDeps) {
  const store = createSyncStore(deps.db)
  await store.ensureIndexes()
  const calcom = createCalcomClient({
    baseUrl: deps.calcomApiUrl,
    connectTimeoutMs: deps.calcomTimeoutMs,
    headersTimeoutMs: deps.calcomTimeoutMs,
    bodyTimeoutMs: deps.calcomTimeoutMs,
  })
  const counters = createSyncCounters()
  const worker = await startSyncWorker({
    js: deps.js,
    definition: deps.definition,
    tenants: deps.tenants,
    reconciler: createBookingReconciler({ calcom, store }),
    store,
    reporter: createSyncReporter({ js: deps.js, names: deps.names }),
    budget: createRateBudget({ perMinute: deps.tenantCallsPerMinute }),
    logger: deps.logger,
    backoffMs: deps.backoffMs,
    concurrency: deps.concurrency,
    // A lease outlives the longest sync (three calls), so it only expires when its holder died.
    leaseTtlMs: 4 * deps.calcomTimeoutMs,
    onInvalid: createPoisonReporter({ js: deps.js, names: deps.names }),
    counters,
    metrics: createSyncMetrics(deps.meter),
  })
  const backlog = observeConsumerBacklog({
    meter: deps.meter,
    js: deps.js,
    consumers: [deps.definition],
    logger: deps.logger,
  })
  return {
    store,
    counters,
    consumersRunning: () => worker.isRunning(),
    /** Stop order: the worker (in-flight syncs finish), then the HTTP connections to Cal.com. */
    async stop() {
      backlog.stop()
      await worker.stop()
      await calcom.close()
    },
  }
}

export type Components = Awaited<ReturnType<typeof startComponents>>
