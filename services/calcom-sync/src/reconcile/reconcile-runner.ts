import type { ReconcileReply, TenantReconcileReport, TenantRecord } from '@calsync/contracts'
import type { Logger, TenantRegistry } from '@calsync/service-kit'
import { holdLease, tryHoldLease } from '../sync/appointment-lease.ts'
import type { SyncStore } from '../sync/sync-store.ts'
import type { ReconcileStore } from './reconcile-store.ts'
import type { TenantReconciler } from './tenant-reconciler.ts'

/** A pass holds its tenant's lease this long between renewals' reach; a dead holder frees it after. */
const LEASE_TTL_MS = 60_000

export interface ReconcileRunnerOptions {
  reconciler: TenantReconciler
  tenants: TenantRegistry
  store: ReconcileStore
  /** The lease table calcom-sync's instances share (one pass per tenant at a time). */
  leases: SyncStore
  owner: string
  /** How often each tenant is reconciled; 0 turns the schedule off (on demand only). */
  intervalMs: number
  logger: Logger
}

const failedReport = (tenantId: string, dryRun: boolean, at: string, error: unknown): TenantReconcileReport => ({
  tenantId,
  dryRun,
  startedAt: at,
  finishedAt: new Date().toISOString(),
  calcomCalls: 0,
  bookingsSeen: 0,
  appointmentsCompared: 0,
  differences: [],
  differencesTotal: 0,
  settling: [],
  error: {
    code: 'reconcile_failed',
    message: error instanceof Error ? error.message : String(error),
  },
})

/**
 * Runs reconcile passes: on demand (the review API's `POST /v1/reconcile`, through the command
 * responder) and on a schedule. Every calcom-sync instance runs the schedule; the tenant's lease
 * and the time of its last pass keep it to one pass per tenant per interval across instances.
 */
export function startReconcileRunner(options: ReconcileRunnerOptions) {
  const log = options.logger.child({ component: 'reconcile-runner' })
  const lifetime = new AbortController()
  const leaseKey = (tenantId: string) => `reconcile:${tenantId}`

  /**
   * A pass under the tenant's lease. `scheduled`: only if no other instance holds the lease and the
   * tenant is still due once it is ours (another instance may have just finished its pass).
   */
  async function runLeased(
    tenant: TenantRecord,
    dryRun: boolean,
    scheduled = false,
  ): Promise<TenantReconcileReport | undefined> {
    const at = new Date().toISOString()
    try {
      const leaseOptions = {
        store: options.leases,
        owner: options.owner,
        ttlMs: LEASE_TTL_MS,
        signal: lifetime.signal,
      }
      const lease = scheduled
        ? await tryHoldLease(leaseKey(tenant.id), leaseOptions)
        : await holdLease(leaseKey(tenant.id), leaseOptions)
      if (!lease) return undefined
      try {
        if (scheduled && !(await due(tenant))) return undefined
        return await options.reconciler.pass(tenant, dryRun)
      } finally {
        await lease.release().catch(() => {})
      }
    } catch (error) {
      log.warn({ err: error, tenantId: tenant.id, dryRun }, 'reconcile pass failed')
      return failedReport(tenant.id, dryRun, at, error)
    }
  }

  async function due(tenant: TenantRecord): Promise<boolean> {
    const state = await options.store.state(tenant.id)
    return !state || Date.now() - Date.parse(state.lastPassAt) >= options.intervalMs
  }

  let running: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined
  async function tick() {
    for (const tenant of options.tenants.all()) {
      if (lifetime.signal.aborted) return
      try {
        if (await due(tenant)) await runLeased(tenant, false, true)
      } catch (error) {
        log.warn({ err: error, tenantId: tenant.id }, 'scheduled reconcile skipped')
      }
    }
  }
  if (options.intervalMs > 0) {
    // Ticks come often enough that a tenant is at most a tenth of the interval late.
    const every = Math.max(1000, Math.floor(options.intervalMs / 10))
    const schedule = () => {
      timer = setTimeout(() => {
        running = tick().finally(() => {
          if (!lifetime.signal.aborted) schedule()
        })
      }, every)
      timer.unref()
    }
    schedule()
  }

  return {
    /** One pass for `tenantId`, or for every tenant when null. */
    async reconcile(tenantId: string | null, dryRun: boolean): Promise<ReconcileReply | undefined> {
      const tenants = tenantId === null ? options.tenants.all() : [options.tenants.get(tenantId)]
      if (tenants.some((tenant) => !tenant)) return undefined
      const reports: TenantReconcileReport[] = []
      for (const tenant of tenants as TenantRecord[]) {
        const report = await runLeased(tenant, dryRun)
        if (report) reports.push(report)
      }
      return { tenants: reports }
    },
    async stop() {
      lifetime.abort(new Error('calcom-sync is stopping'))
      if (timer) clearTimeout(timer)
      await running
    },
  }
}

export type ReconcileRunner = ReturnType<typeof startReconcileRunner>
