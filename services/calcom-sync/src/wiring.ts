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
import { type CallGate, createCalcomClient } from './calcom/calcom-client.ts'
import { callBudgetKeyOf, openCallBudget } from './calcom/call-budget.ts'
import { createSyncMetrics } from './metrics.ts'
import { createBookingReconciler } from './sync/booking-reconciler.ts'
import { createSyncReporter } from './sync/sync-reporter.ts'
import { createSyncStore } from './sync/sync-store.ts'
import { createSyncCounters, type SyncWorkerDeps, startSyncWorker } from './sync/sync-worker.ts'

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
  /** Cal.com calls per 60 s per API key, counted across every instance (Cal.com allows about 120). */
  tenantCallsPerMinute: number
  concurrency: number
  /** The appointment lease's time-to-live; renewed every third of it while a sync runs. */
  leaseTtlMs?: number
  /** The budget's window; tests shorten it. */
  budgetWindowMs?: number
  /** Test-only fault injection (CALSYNC_FAULT_INJECTION). */
  faultPoint?: SyncWorkerDeps['faultPoint']
}

/** Long enough that a stalled database does not lose a live lease; short enough that a dead holder frees it soon. */
const DEFAULT_LEASE_TTL_MS = 30_000

/** The object graph of calcom-sync, shared by main.ts and the tests. */
export async function startComponents(deps: ComponentDeps) {
  const store = createSyncStore(deps.db)
  await store.ensureIndexes()
  const lifetime = new AbortController()
  const budget = await openCallBudget({
    js: deps.js,
    bucket: deps.names.buckets.calcomBudget,
    limit: deps.tenantCallsPerMinute,
    windowMs: deps.budgetWindowMs ?? 60_000,
    logger: deps.logger,
  })
  const gate: CallGate = {
    beforeCall: (apiKey, signal) => budget.acquire(callBudgetKeyOf(apiKey), signal),
    rateLimited: (apiKey, waitMs) => budget.block(callBudgetKeyOf(apiKey), Date.now() + waitMs),
  }
  const calcom = createCalcomClient({
    baseUrl: deps.calcomApiUrl,
    gate,
    signal: lifetime.signal,
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
    logger: deps.logger,
    backoffMs: deps.backoffMs,
    concurrency: deps.concurrency,
    leaseTtlMs: deps.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
    ...(deps.faultPoint ? { faultPoint: deps.faultPoint } : {}),
    signal: lifetime.signal,
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
      lifetime.abort(new Error('calcom-sync is stopping'))
      backlog.stop()
      await worker.stop()
      await calcom.close()
    },
  }
}

export type Components = Awaited<ReturnType<typeof startComponents>>
