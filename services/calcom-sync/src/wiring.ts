import { randomUUID } from 'node:crypto'
import type { ConsumerDefinition, Names } from '@calsync/contracts'
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
import { type CallGate, createCalcomClient } from './calcom/calcom-client.ts'
import { callBudgetKeyOf, openCallBudget } from './calcom/call-budget.ts'
import { createSyncMetrics } from './metrics.ts'
import { startReconciler } from './reconcile/reconcile-wiring.ts'
import { DEFAULT_RECONCILER_SETTINGS, type ReconcilerSettings } from './reconcile/tenant-reconciler.ts'
import { DEFAULT_SILENCE_SETTINGS, type SilenceSettings } from './reconcile/webhook-silence.ts'
import { createBookingReconciler } from './sync/booking-reconciler.ts'
import { createSyncReporter } from './sync/sync-reporter.ts'
import { createSyncStore } from './sync/sync-store.ts'
import { createSyncCounters, type SyncWorkerDeps, startSyncWorker } from './sync/sync-worker.ts'

export interface ComponentDeps {
  db: Db
  nc: NatsConnection
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
  /** How often each tenant is reconciled against Cal.com; 0: only on demand. */
  reconcileIntervalMs: number
  /** The part of each tenant's Cal.com budget the reconciler may spend (the rest is the syncs'). */
  reconcileBudgetShare: number
  reconcileSettings?: Partial<ReconcilerSettings>
  silenceSettings?: Partial<SilenceSettings>
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
  // The reconciler's calls take a turn of its own share first, then one of the key's whole budget:
  // they count against Cal.com's limit like any call, but can never take more than the share.
  const share = await openCallBudget({
    js: deps.js,
    bucket: deps.names.buckets.calcomBudget,
    limit: Math.max(1, Math.floor(deps.tenantCallsPerMinute * deps.reconcileBudgetShare)),
    windowMs: deps.budgetWindowMs ?? 60_000,
    logger: deps.logger,
  })
  const reconcileGate: CallGate = {
    async beforeCall(apiKey, signal) {
      await share.acquire(`share_${callBudgetKeyOf(apiKey)}`, signal)
      await gate.beforeCall(apiKey, signal)
    },
    rateLimited: gate.rateLimited,
  }
  const clientOptions = {
    baseUrl: deps.calcomApiUrl,
    signal: lifetime.signal,
    connectTimeoutMs: deps.calcomTimeoutMs,
    headersTimeoutMs: deps.calcomTimeoutMs,
    bodyTimeoutMs: deps.calcomTimeoutMs,
  }
  const calcom = createCalcomClient({ ...clientOptions, gate })
  const reconcileCalcom = createCalcomClient({ ...clientOptions, gate: reconcileGate })
  const counters = createSyncCounters()
  const metrics = createSyncMetrics(
    deps.meter,
    deps.tenants.all().map((tenant) => tenant.id),
  )
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
    // No crash parking here (handling-attempts.ts): events are calsync's own checked snapshots,
    // a death mid-sync is a deploy or a kill far more likely than the event, and a parked event
    // would leave its appointment's sync pending for good. Kills are survived by leases instead.
    counters,
    metrics,
  })
  const reconciler = await startReconciler({
    db: deps.db,
    nc: deps.nc,
    js: deps.js,
    names: deps.names,
    tenants: deps.tenants,
    calcom: reconcileCalcom,
    leases: store,
    owner: `reconciler-${randomUUID()}`,
    intervalMs: deps.reconcileIntervalMs,
    settings: { ...DEFAULT_RECONCILER_SETTINGS, ...deps.reconcileSettings },
    silence: { ...DEFAULT_SILENCE_SETTINGS, ...deps.silenceSettings },
    metrics,
    logger: deps.logger,
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
    reconciler: reconciler.runner,
    /** Stop order: the reconciler and the worker (in-flight work finishes), then the HTTP connections to Cal.com. */
    async stop() {
      lifetime.abort(new Error('calcom-sync is stopping'))
      backlog.stop()
      await reconciler.stop()
      await worker.stop()
      await calcom.close()
      await reconcileCalcom.close()
    },
  }
}

export type Components = Awaited<ReturnType<typeof startComponents>>
