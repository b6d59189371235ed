import { createCalcomSandbox, sandboxTenantsFrom } from '@calsync/calcom-sandbox'
import { consumerDefinitions, type Names } from '@calsync/contracts'
import { createServiceMetrics, ensureConsumer, type TenantRegistry } from '@calsync/service-kit'
import { jetstream } from '@nats-io/jetstream'
import type { MongoClient } from 'mongodb'
import { type AppointmentsHarness, startAppointmentsHarness } from '../../services/appointments/test/support/harness.ts'
import { buildApp as buildSyncApp } from '../../services/calcom-sync/src/app.ts'
import {
  type Components as SyncComponents,
  type ComponentDeps as SyncDeps,
  startComponents as startSync,
} from '../../services/calcom-sync/src/wiring.ts'
import { buildApp as buildGateway } from '../../services/webhook-gateway/src/app.ts'
import { connectTestMongo, connectTestNats, uniqueDbName } from './infra.ts'
import { testInstances } from './instances.ts'
import { fileLogger, instanceLogger } from './logs.ts'
import { type RoundRobinForwarder, startRoundRobinForwarder } from './round-robin-forwarder.ts'
import { openTestRegistry } from './tenants.ts'

export interface StackOptions {
  backoffMs?: number[]
  calcomTimeoutMs?: number
  sandboxRateLimit?: number
  /** calcom-sync's own Cal.com call budget per tenant and minute (1000 unless given). */
  calcomCallsPerMinute?: number
  startSync?: boolean
  /** Runs after each durable event insert of the appointments service; a throw stops the change there. */
  afterEventWrite?: () => void | Promise<void>
  /** Asked by gateway `instance` before each webhook it stores (see the gateway's QueueFault). */
  gatewayQueueFault?: (instance: number) => 'refuse' | 'store-then-refuse' | undefined
}

/** What a further process of a service opens of its own: a NATS connection, a tenant view, a database client. */
async function connectProcess(names: Names) {
  const nc = await connectTestNats()
  const tenants: TenantRegistry = await openTestRegistry(nc, names)
  const mongo: MongoClient = await connectTestMongo()
  return {
    nc,
    js: jetstream(nc),
    tenants,
    mongo,
    async close() {
      await tenants.stop()
      await mongo.close()
      await nc.drain()
    },
  }
}

/**
 * The whole of calsync in one process against the suite's NATS and database, with the Cal.com
 * sandbox in front: appointments, the gateway on a real port (the sandbox's webhooks reach it
 * over HTTP, as echoes do), and calcom-sync calling the sandbox. With `CALSYNC_TEST_INSTANCES=2`
 * every service runs twice, each instance on connections of its own as a process would be, and
 * the sandbox's webhooks (and `gatewayUrl`) reach the gateways through a round-robin forwarder.
 */
export async function startStack(options: StackOptions = {}) {
  const count = testInstances()
  const appointments: AppointmentsHarness = await startAppointmentsHarness({
    components: {
      // The sandbox retries a webhook after 300 ms (Cal.com after 10 s and more): a reschedule of a
      // booking never seen waits 3 s for it here, as long in proportion as 60 s is against Cal.com.
      unknownRescheduleGraceMs: 3000,
      ...(options.afterEventWrite ? { afterEventWrite: options.afterEventWrite } : {}),
    },
  })
  const { names, nc, js, jsm, tenants } = appointments
  // The first gateway and calcom-sync share appointments' connection, as with one instance before.
  const processes = await Promise.all(Array.from({ length: 2 * (count - 1) }, () => connectProcess(names)))
  const [gatewayProcesses, syncProcesses] = [processes.slice(0, count - 1), processes.slice(count - 1)]
  // One registry per service instance, as each process has its own.
  const registries = {
    gateway: Array.from({ length: count }, () => createServiceMetrics({ serviceName: 'webhook-gateway' })),
    sync: Array.from({ length: count }, () => createServiceMetrics({ serviceName: 'calcom-sync' })),
  }
  const metrics = { gateway: registries.gateway[0] as Metrics, sync: registries.sync[0] as Metrics }
  const gateways: ReturnType<typeof buildGateway>[] = []
  for (let instance = 0; instance < count; instance++) {
    const own = gatewayProcesses[instance - 1]
    const gateway = buildGateway({
      logger: instanceLogger('webhook-gateway', instance),
      readiness: async () => ({ ok: true }),
      tenants: own?.tenants ?? tenants,
      js: own?.js ?? js,
      names,
      metrics: registries.gateway[instance] as Metrics,
      config: { replayWindowMs: 15 * 60_000, rateLimitPerMinute: 6000 },
      ...(options.gatewayQueueFault ? { queueFault: () => options.gatewayQueueFault?.(instance) } : {}),
    })
    await gateway.listen({ host: '127.0.0.1', port: 0 })
    gateways.push(gateway)
  }
  const gatewayUrls = gateways.map(
    (gateway) => `http://127.0.0.1:${(gateway.server.address() as { port: number }).port}`,
  )
  // Cal.com has one webhook URL per tenant: with several gateways it is the load balancer's.
  const forwarder: RoundRobinForwarder | undefined = count > 1 ? await startRoundRobinForwarder(gatewayUrls) : undefined
  const gatewayUrl = forwarder?.url ?? (gatewayUrls[0] as string)
  const sandbox = createCalcomSandbox({
    tenants: sandboxTenantsFrom(tenants.all(), `${gatewayUrl}/webhooks/calcom/{tenantId}`),
    rateLimitPerMinute: options.sandboxRateLimit ?? 1000,
    logger: fileLogger('calcom-sandbox'),
  })
  await sandbox.app.listen({ host: '127.0.0.1', port: 0 })
  const sandboxUrl = `http://127.0.0.1:${(sandbox.app.server.address() as { port: number }).port}`

  // Commands seen, as the services' own clients see theirs (the hot-path query test reads them).
  const mongo: MongoClient = await connectTestMongo({ monitorCommands: true })
  const syncDb = mongo.db(uniqueDbName('sync'))
  const definition = { ...consumerDefinitions(names).calcomSync, ackWaitMs: 3000 }
  await ensureConsumer(jsm, definition)
  const syncOptions = {
    db: syncDb,
    nc,
    js,
    names,
    tenants,
    logger: fileLogger('calcom-sync'),
    meter: metrics.sync.meter,
    definition,
    calcomApiUrl: sandboxUrl,
    calcomTimeoutMs: options.calcomTimeoutMs ?? 1000,
    backoffMs: options.backoffMs ?? [50, 100, 150],
    tenantCallsPerMinute: options.calcomCallsPerMinute ?? 1000,
    concurrency: 4,
    // A worker killed by a test frees its appointments this soon.
    leaseTtlMs: 3000,
    // Passes only when a test asks for one: a schedule would add Cal.com calls no test expects.
    reconcileIntervalMs: 0,
    reconcileBudgetShare: 0.2,
  } satisfies SyncDeps
  // Every instance the same options but its own connections, registry and log.
  const allSyncOptions: SyncDeps[] = [
    syncOptions,
    ...syncProcesses.map((own, index) => ({
      ...syncOptions,
      db: own.mongo.db(syncDb.databaseName),
      nc: own.nc,
      js: own.js,
      tenants: own.tenants,
      logger: instanceLogger('calcom-sync', index + 1),
      meter: (registries.sync[index + 1] as Metrics).meter,
    })),
  ]
  const startSyncs = async () => {
    const started: SyncComponents[] = []
    for (const deps of allSyncOptions) started.push(await startSync(deps))
    return started
  }
  let syncs: SyncComponents[] = options.startSync === false ? [] : await startSyncs()
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
    /** Where Cal.com's webhooks go: the gateway, or the forwarder in front of the gateways. */
    gatewayUrl,
    gatewayUrls,
    forwarder,
    syncDb,
    syncOptions,
    metrics,
    syncApp,
    /** The first calcom-sync instance, while they run. */
    get sync(): SyncComponents | undefined {
      return syncs[0]
    },
    /** Every calcom-sync instance, while they run. */
    get syncs(): readonly SyncComponents[] {
      return syncs
    },
    async startSync() {
      if (syncs.length === 0) syncs = await startSyncs()
      return syncs[0] as SyncComponents
    },
    async stopSync() {
      for (const sync of syncs) await sync.stop()
      syncs = []
    },
    async close() {
      for (const sync of syncs) await sync.stop()
      await syncApp.close()
      await sandbox.app.close()
      await forwarder?.close()
      for (const gateway of gateways) await gateway.close()
      await appointments.close()
      await Promise.all([...registries.gateway, ...registries.sync].map((registry) => registry.shutdown()))
      await syncDb.dropDatabase().catch(() => undefined)
      await mongo.close()
      for (const own of processes) await own.close()
    },
  }
}

type Metrics = ReturnType<typeof createServiceMetrics>

export type Stack = Awaited<ReturnType<typeof startStack>>
