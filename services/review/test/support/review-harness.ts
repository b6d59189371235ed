import { randomBytes } from 'node:crypto'
import {
  type AppointmentEvent,
  type Names,
  type ReviewRequest,
  type SyncResult,
  syncResultToken,
} from '@calsync/contracts'
import { createServiceMetrics, publishMessage, type TenantRegistry } from '@calsync/service-kit'
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
import { roundRobin, startInstances, testInstances } from '../../../../test/support/instances.ts'
import { instanceLogger } from '../../../../test/support/logs.ts'
import { openInstanceTenants, TEST_SECRETS } from '../../../../test/support/tenants.ts'
import { buildApp } from '../../src/app.ts'
import type { ReviewItemView } from '../../src/items/review-item.ts'
import { ensureReviewTopology, reviewTopology } from '../../src/topology.ts'
import { type Components, startComponents } from '../../src/wiring.ts'

/** The operator token of the review tests; the log scan of these tests checks it never leaks. */
export const REVIEW_ADMIN_TOKEN = TEST_SECRETS.CALSYNC_ADMIN_TOKEN

/**
 * One review process: its own NATS connection, database client, tenant view, metrics registry,
 * components and HTTP app, on the shared database name and NATS names.
 */
async function startInstance(names: Names, dbName: string, instance: number, commandTimeoutMs: number) {
  const nc: NatsConnection = await connectTestNats()
  // Commands seen, as the other services' clients see theirs (the hot-path query test reads them).
  const mongo: MongoClient = await connectTestMongo({ monitorCommands: true })
  const db = mongo.db(dbName)
  const jsm = await jetstreamManager(nc)
  const js = jetstream(nc)
  await ensureReviewTopology(jsm, names)
  const tenants: TenantRegistry = await openInstanceTenants(nc, names, instance)
  const logger = instanceLogger('review', instance)
  const metrics = createServiceMetrics({ serviceName: 'review', logger })
  const components: Components = await startComponents({
    db,
    nc,
    js,
    jsm,
    names,
    tenants,
    logger,
    meter: metrics.meter,
    adminToken: REVIEW_ADMIN_TOKEN,
    commandTimeoutMs,
  })
  const app: FastifyInstance = buildApp({
    logger,
    readiness: async () => ({ ok: true }),
    metrics,
    items: components.items,
    results: components.results,
    commands: components.commands,
    reconcile: components.reconcile,
    replay: components.replay,
    authenticate: components.authenticate,
  })
  return {
    nc,
    js,
    jsm,
    db,
    app,
    components,
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

export type ReviewInstance = Awaited<ReturnType<typeof startInstance>>

/**
 * The review service wired exactly as main.ts wires it, on the given names (share them with
 * appointments). With `CALSYNC_TEST_INSTANCES=2` two instances run on the same database and
 * names; the fields of the first stay the harness's own (`instances` has both), and `api` sends
 * each request to the next instance in turn.
 */
export async function startReviewHarness(
  options: {
    names?: Names
    /** How long a command to the appointments service may take before the API answers 503 (5 s unless given). */
    commandTimeoutMs?: number
  } = {},
) {
  const names = options.names ?? uniqueNames()
  const dbName = uniqueDbName('review')
  const count = testInstances()
  const instances = await startInstances(count, (instance) =>
    startInstance(names, dbName, instance, options.commandTimeoutMs ?? 5000),
  )
  const [first] = instances
  const { nc, js, jsm, db, app, components, metrics } = first
  const { consumers } = reviewTopology(names)
  const nextApp = roundRobin(instances.map((instance) => instance.app))

  const harness = {
    names,
    nc,
    js,
    jsm,
    db,
    app,
    components,
    metrics,
    instances,

    api(token: string | undefined, method: 'GET' | 'POST', url: string, body?: unknown) {
      return nextApp().inject({
        method,
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(body === undefined ? {} : { payload: body as object }),
      })
    },

    /** Publishes a review request the way the other services do (a fresh Nats-Msg-Id unless given). */
    async publishReview(request: ReviewRequest, msgId = randomBytes(8).toString('hex')) {
      await publishMessage(js, names.subjects.review(request.tenantId, request.kind), request, {
        msgId,
        tenantId: request.tenantId,
      })
    },

    async publishSyncResult(result: SyncResult) {
      await publishMessage(js, names.subjects.syncResult(result.tenantId, syncResultToken(result.type)), result, {
        msgId: randomBytes(8).toString('hex'),
        tenantId: result.tenantId,
      })
    },

    /** The item of a cause as the operator sees it, or undefined while there is none. */
    async itemOf(causeId: string): Promise<ReviewItemView | undefined> {
      const doc = await components.items.items.findOne({ causeId })
      if (!doc) return undefined
      const response = await harness.api(REVIEW_ADMIN_TOKEN, 'GET', `/v1/review-items/${doc._id}`)
      return response.statusCode === 200 ? (response.json() as ReviewItemView) : undefined
    },

    /** Until review's durable consumers have nothing pending or unacknowledged. */
    async consumersIdle(): Promise<boolean> {
      return consumersIdle(jsm, consumers)
    },

    async close() {
      for (const instance of instances) await instance.stop()
      await db.dropDatabase().catch(() => undefined)
      for (const instance of instances) await instance.disconnect()
    },
  }
  return harness
}

export type ReviewHarness = Awaited<ReturnType<typeof startReviewHarness>>

/** An appointment event as calcom-sync receives it, for reports about appointments no service holds. */
export function appointmentEventFixture(tenantId: string, appointmentId: string, version = 1): AppointmentEvent {
  const now = new Date().toISOString()
  return {
    type: 'appointment.booked',
    eventId: `${appointmentId}:v${version}`,
    tenantId,
    appointmentId,
    version,
    origin: 'admin',
    occurredAt: now,
    appointment: {
      id: appointmentId,
      tenantId,
      eventTypeId: 1001,
      resource: 'dr-jones',
      start: '2030-01-07T10:00:00.000Z',
      end: '2030-01-07T10:30:00.000Z',
      status: 'booked',
      origin: 'admin',
      version,
      attendee: { name: 'Lee', email: 'lee@example.org', timeZone: 'UTC' },
      calcomBookingUid: null,
      createdAt: now,
      updatedAt: now,
    },
  }
}
