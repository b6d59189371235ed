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
import {
  connectTestMongo,
  connectTestNats,
  consumersIdle,
  uniqueDbName,
  uniqueNames,
} from '../../../../test/support/infra.ts'
import { fileLogger } from '../../../../test/support/logs.ts'
import { readStream } from '../../../../test/support/streams.ts'
import { openTestTenants } from '../../../../test/support/tenants.ts'
import { buildApp } from '../../src/app.ts'
import { type ComponentDeps, type Components, startComponents } from '../../src/wiring.ts'

/**
 * The appointments service wired exactly as main.ts wires it, against the suite's NATS and
 * database; `mongoUrl` points it at another database (one a test takes down, say), connected
 * with the service's own client settings.
 */
export async function startAppointmentsHarness(
  options: {
    names?: Names
    mongoUrl?: string
    components?: Partial<Omit<ComponentDeps, 'db' | 'nc' | 'js' | 'names' | 'tenants'>>
  } = {},
) {
  const names = options.names ?? uniqueNames()
  const nc: NatsConnection = await connectTestNats()
  const mongo: MongoClient = options.mongoUrl
    ? await connectMongo(options.mongoUrl, 'appointments')
    : await connectTestMongo()
  const dbName = uniqueDbName('appointments')
  const db = mongo.db(dbName)
  const jsm = await jetstreamManager(nc)
  const js = jetstream(nc)
  const streams = streamDefinitions(names)
  const consumers = consumerDefinitions(names)
  for (const stream of Object.values(streams)) await ensureStream(jsm, stream)
  await ensureConsumer(jsm, consumers.appointmentsWebhooks)
  await ensureConsumer(jsm, consumers.appointmentsSyncResults)
  const tenants: TenantRegistry = await openTestTenants(nc, names)
  const logger = fileLogger('appointments')
  // Its own registry, so this app's /metrics shows only what this service counted.
  const metrics = createServiceMetrics({ serviceName: 'appointments', logger })
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
  })

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

    api(
      token: string | undefined,
      method: 'GET' | 'POST',
      url: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) {
      return app.inject({
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
    ) {
      const message: VerifiedWebhook = {
        type: 'calcom.webhook.verified',
        tenantId,
        deliveryId,
        receivedAt: new Date().toISOString(),
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
      await app.close()
      await components.stop()
      await metrics.shutdown()
      await tenants.stop()
      await db.dropDatabase().catch(() => undefined)
      await mongo.close()
      await nc.drain()
    },
  }
}

export type AppointmentsHarness = Awaited<ReturnType<typeof startAppointmentsHarness>>
