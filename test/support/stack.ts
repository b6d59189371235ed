import { createCalcomSandbox, sandboxTenantsFrom } from '@calsync/calcom-sandbox'
import { consumerDefinitions } from '@calsync/contracts'
import { createServiceMetrics, ensureConsumer } from '@calsync/service-kit'
import type { MongoClient } from 'mongodb'
import { type AppointmentsHarness, startAppointmentsHarness } from '../../services/appointments/test/support/harness.ts'
import { buildApp as buildSyncApp } from '../../services/calcom-sync/src/app.ts'
import {
  type Components as SyncComponents,
  startComponents as startSync,
} from '../../services/calcom-sync/src/wiring.ts'
import { buildApp as buildGateway } from '../../services/webhook-gateway/src/app.ts'
import { connectTestMongo, uniqueDbName } from './infra.ts'
import { fileLogger } from './logs.ts'

export interface StackOptions {
  backoffMs?: number[]
  calcomTimeoutMs?: number
  sandboxRateLimit?: number
  startSync?: boolean
}

/**
 * The whole of calsync in one process against the suite's NATS and database, with the Cal.com
 * sandbox in front: appointments, the gateway on a real port (the sandbox's webhooks reach it
 * over HTTP, as echoes do), and calcom-sync calling the sandbox.
 */
export async function startStack(options: StackOptions = {}) {
  const appointments: AppointmentsHarness = await startAppointmentsHarness()
  const { names, js, jsm, tenants } = appointments
  // One registry per service, as each process has its own.
  const metrics = {
    gateway: createServiceMetrics({ serviceName: 'webhook-gateway' }),
    sync: createServiceMetrics({ serviceName: 'calcom-sync' }),
  }
  const gateway = buildGateway({
    logger: fileLogger('webhook-gateway'),
    readiness: async () => ({ ok: true }),
    tenants,
    js,
    names,
    metrics: metrics.gateway,
    config: { replayWindowMs: 15 * 60_000, rateLimitPerMinute: 6000 },
  })
  await gateway.listen({ host: '127.0.0.1', port: 0 })
  const gatewayUrl = `http://127.0.0.1:${(gateway.server.address() as { port: number }).port}`
  const sandbox = createCalcomSandbox({
    tenants: sandboxTenantsFrom(tenants.all(), `${gatewayUrl}/webhooks/calcom/{tenantId}`),
    rateLimitPerMinute: options.sandboxRateLimit ?? 1000,
    logger: fileLogger('calcom-sandbox'),
  })
  await sandbox.app.listen({ host: '127.0.0.1', port: 0 })
  const sandboxUrl = `http://127.0.0.1:${(sandbox.app.server.address() as { port: number }).port}`

  const mongo: MongoClient = await connectTestMongo()
  const syncDb = mongo.db(uniqueDbName('sync'))
  const definition = { ...consumerDefinitions(names).calcomSync, ackWaitMs: 3000 }
  await ensureConsumer(jsm, definition)
  const syncOptions = {
    db: syncDb,
    js,
    names,
    tenants,
    logger: fileLogger('calcom-sync'),
    meter: metrics.sync.meter,
    definition,
    calcomApiUrl: sandboxUrl,
    calcomTimeoutMs: options.calcomTimeoutMs ?? 1000,
    backoffMs: options.backoffMs ?? [50, 100, 150],
    tenantCallsPerMinute: 1000,
    concurrency: 4,
    // A worker killed by a test frees its appointments this soon.
    leaseTtlMs: 3000,
  }
  let sync: SyncComponents | undefined = options.startSync === false ? undefined : await startSync(syncOptions)
  // calcom-sync's HTTP port (health and /metrics), driven through inject().
  const syncApp = buildSyncApp({
    logger: syncOptions.logger,
    readiness: async () => ({ ok: true }),
    metrics: metrics.sync,
  })

  return {
    appointments,
    names,
    sandbox,
    sandboxUrl,
    gatewayUrl,
    syncDb,
    syncOptions,
    metrics,
    syncApp,
    get sync() {
      return sync
    },
    async startSync() {
      sync ??= await startSync(syncOptions)
      return sync
    },
    async stopSync() {
      await sync?.stop()
      sync = undefined
    },
    async close() {
      await sync?.stop()
      await syncApp.close()
      await sandbox.app.close()
      await gateway.close()
      await appointments.close()
      await Promise.all([metrics.gateway.shutdown(), metrics.sync.shutdown()])
      await syncDb.dropDatabase().catch(() => undefined)
      await mongo.close()
    },
  }
}

export type Stack = Awaited<ReturnType<typeof startStack>>
