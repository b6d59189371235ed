import { randomBytes } from 'node:crypto'
import {
  type AppointmentEvent,
  type CalcomBookingWebhook,
  consumerDefinitions,
  type Names,
  type ReviewRequest,
  type SyncResult,
  streamDefinitions,
  syncResultToken,
  type VerifiedWebhook,
} from '@calsync/contracts'
import {
  connectMongo,
  createServiceMetrics,
  ensureConsumer,
  ensureStream,
  publishMessage,
  type TenantRegistry,
} from '@calsync/service-kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { FastifyInstance } from 'fastify'
import type { MongoClient } from 'mongodb'
import { connectTestNats, consumersIdle, mongoUrl, uniqueDbName, uniqueNames } from '../../../../test/support/infra.ts'
import { roundRobin, startInstances, testInstances } from '../../../../test/support/instances.ts'
import { instanceLogger } from '../../../../test/support/logs.ts'
import { readStream } from '../../../../test/support/streams.ts'
import { openInstanceTenants } from '../../../../test/support/tenants.ts'
import { buildApp } from '../../src/app.ts'
import { type ComponentDeps, type Components, startComponents } from '../../src/wiring.ts'

type HarnessOptions = {
  names?: Names
  mongoUrl?: string
  components?: Partial<Omit<ComponentDeps, 'db' | 'nc' | 'js' | 'names' | 'tenants'>>
}

/**
 * One appointments process: its own NATS connection, database client, tenant view, metrics
 * registry, components and HTTP app, on the shared database name and NATS names.
 */
async function startInstance(options: HarnessOptions & { names: Names; dbName: string; instance: number }) {
  const { names } = options
  const nc: NatsConnection = await connectTestNats()
  const logger = instanceLogger('appointments', options.instance)
  // Its own registry, so this app's /metrics shows only what this instance counted.
  const metrics = createServiceMetrics({ serviceName: 'appointments', logger })
  // The service's own client settings, its commands counted as main.ts's are.
  const mongo: MongoClient = await connectMongo(options.mongoUrl ?? mongoUrl(), 'appointments', metrics.meter)
  const db = mongo.db(options.dbName)
  const jsm = await jetstreamManager(nc)
  const js = jetstream(nc)
  // Every process ensures the topology at start, as main.ts does.
  for (const stream of Object.values(streamDefinitions(names))) await ensureStream(jsm, stream)
  const consumers = consumerDefinitions(names)
  await ensureConsumer(jsm, consumers.appointmentsWebhooks)
  await ensureConsumer(jsm, consumers.appointmentsSyncResults)
  const tenants: TenantRegistry = await openInstanceTenants(nc, names, options.instance)
  const components: Components = await startComponents({
    db,
    nc,
    js,
    names,
    tenants,
    logger,
    meter: metrics.meter,
    relayIntervalMs: 200,
    ...options.components,
  })
  const app: FastifyInstance = buildApp({
    logger,
    readiness: async () => ({ ok: true }),
    metrics,
    service: components.service,
    store: components.store,
    idempotency: components.idempotency,
    authenticate: components.authenticate,
    history: components.history,
  })
  return {
    nc,
    js,
    jsm,
    db,
    app,
    components,
    tenants,
    metrics,
    /** Stops serving and consuming; the connections stay open for the harness's clean-up. */
    async stop() {
      await app.close()
      await components.stop()
      await metrics.shutdown()
      await tenants.stop()
    },
    async disconnect() {
      await mongo.close()
      await nc.drain()
    },
  }
}

export type AppointmentsInstance = Awaited<ReturnType<typeof startInstance>>

/**
 * The appointments service wired exactly as main.ts wires it, against the suite's NATS and
 * database; `mongoUrl` points it at another database (one a test takes down, say), connected
 * with the service's own client settings. With `CALSYNC_TEST_INSTANCES=2` two instances run on
 * the same database and names; the fields of the first stay the harness's own (`instances` has
 * both), and `api` sends each request to the next instance in turn.
 */
export async function startAppointmentsHarness(options: HarnessOptions = {}) {
  const names = options.names ?? uniqueNames()
  const dbName = uniqueDbName('appointments')
  const count = testInstances()
  const instances = await startInstances(count, (instance) => startInstance({ ...options, names, dbName, instance }))
  const [first] = instances
  const { nc, js, jsm, db, app, components, tenants, metrics } = first
  const streams = streamDefinitions(names)
  const consumers = consumerDefinitions(names)
  const nextApp = roundRobin(instances.map((instance) => instance.app))

  return {
    names,
    nc,
    js,
    jsm,
    db,
    dbName,
    app,
    components,
    tenants,
    metrics,
    instances,

    api(
      token: string | undefined,
      method: 'GET' | 'POST',
      url: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) {
      return nextApp().inject({
        method,
        url,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        ...(body === undefined ? {} : { payload: body as object }),
      })
    },

    /** What the gateway would publish for a verified delivery. */
    async deliverWebhook(
      tenantId: string,
      webhook: CalcomBookingWebhook,
      deliveryId = randomBytes(16).toString('hex'),
      /** When the gateway took it; long ago for a webhook that sat in the stream through an outage. */
      receivedAt = new Date(),
    ) {
      const message: VerifiedWebhook = {
        type: 'calcom.webhook.verified',
        tenantId,
        deliveryId,
        receivedAt: receivedAt.toISOString(),
        webhook,
      }
      await publishMessage(js, names.subjects.webhook(tenantId, webhook.triggerEvent), message, {
        msgId: deliveryId,
        tenantId,
      })
      return deliveryId
    },

    async publishSyncResult(result: SyncResult) {
      await publishMessage(js, names.subjects.syncResult(result.tenantId, syncResultToken(result.type)), result, {
        msgId: randomBytes(8).toString('hex'),
        tenantId: result.tenantId,
      })
    },

    /** Appointment events in the stream, oldest first. */
    async events(appointmentId?: string) {
      const all = await readStream<AppointmentEvent>(jsm, streams.appointments.name)
      return all.filter((message) => !appointmentId || message.body.appointmentId === appointmentId)
    },

    async reviews() {
      return readStream<ReviewRequest>(jsm, streams.review.name)
    },

    /** Until both consumers have nothing pending or unacknowledged. */
    async consumersIdle(): Promise<boolean> {
      return consumersIdle(jsm, [consumers.appointmentsWebhooks, consumers.appointmentsSyncResults])
    },

    async close() {
      for (const instance of instances) await instance.stop()
      await db.dropDatabase().catch(() => undefined)
      for (const instance of instances) await instance.disconnect()
    },
  }
}

export type AppointmentsHarness = Awaited<ReturnType<typeof startAppointmentsHarness>>
