import { setMaxListeners } from 'node:events'
import type { Logger } from '@calsync/service-kit'
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import { apiHooks } from './api-hooks.ts'
import { bookingsRoutes } from './bookings-routes.ts'
import { CalcomHttpError, EXCEPTION_CODES, errorEnvelope } from './calcom-http-error.ts'
import { controlRoutes, type SandboxControl } from './control-routes.ts'
import { createFaultQueue } from './fault-queue.ts'
import { createRateLimiter } from './rate-limiter.ts'
import { createRequestLog } from './request-log.ts'
import { createSandboxStore, type SandboxStore, type SandboxTenant } from './sandbox-store.ts'
import { type WebhookEvent, webhookBody } from './webhook-body.ts'
import { createWebhookSender } from './webhook-sender.ts'

export interface CalcomSandboxOptions {
  tenants: SandboxTenant[]
  /** Calls per 60 s per API key before 429, like Cal.com's default throttler (120). */
  rateLimitPerMinute?: number
  clock?: () => Date
  /** Fastify's logger; the service-kit logger redacts keys and secrets. None when omitted. */
  logger?: Logger
}

export interface CalcomSandbox extends SandboxControl {
  /** Not listening yet: the caller listens (port 0 in tests) and closes it. */
  app: FastifyInstance
  store: SandboxStore
}

/**
 * A stand-in for Cal.com API v2 (bookings, version 2024-08-13) that behaves like it as far as a
 * client can observe — availability per host, reschedule semantics, signed webhooks, rate
 * limits — plus a control API under /_sandbox for tests to inject faults and read what happened.
 */
export function createCalcomSandbox(options: CalcomSandboxOptions): CalcomSandbox {
  const clock = options.clock ?? (() => new Date())
  const tenants = new Map(options.tenants.map((tenant) => [tenant.id, { ...tenant }]))
  const store = createSandboxStore()
  const faults = createFaultQueue()
  const requestLog = createRequestLog()
  const sender = createWebhookSender({ clock })
  const rateLimiter = createRateLimiter({
    limit: options.rateLimitPerMinute ?? 120,
    clock: () => clock().getTime(),
  })
  // Replaced on reset and aborted on close: delayed and hung requests wait on it.
  const newLifetime = () => {
    const controller = new AbortController()
    // Any number of requests may be waiting at once; that is no listener leak.
    setMaxListeners(0, controller.signal)
    return controller
  }
  let lifetime = newLifetime()

  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : { logger: false }),
    // Hung requests hold their sockets; closing must not wait for them.
    forceCloseConnections: true,
  })

  // Express's body parser, behind Cal.com, reads an empty JSON body as {}: validation then names
  // the missing fields, where Fastify's own parser would refuse the empty body itself.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    if (text === '') return done(null, undefined)
    try {
      done(null, JSON.parse(text as string))
    } catch (error) {
      done(Object.assign(error as Error, { statusCode: 400 }), undefined)
    }
  })

  function tenantByKey(apiKey: string): SandboxTenant | undefined {
    for (const tenant of tenants.values()) if (tenant.apiKey === apiKey) return tenant
    return undefined
  }

  function dispatch(tenant: SandboxTenant, events: WebhookEvent[]): void {
    // Read now, not at request time: a test may have re-pointed the URL in between.
    const current = tenants.get(tenant.id)
    if (!current?.webhookUrl) return
    for (const event of events) {
      // Runs from a socket event: a throw here would take the whole process down.
      try {
        sender.send({
          tenantId: current.id,
          url: current.webhookUrl,
          secret: current.webhookSecret,
          trigger: event.trigger,
          bookingUid: event.booking.uid,
          body: JSON.stringify(webhookBody(event, clock())),
          rebuild: () => JSON.stringify(webhookBody(event, clock())),
        })
      } catch (error) {
        app.log.error({ err: error, trigger: event.trigger, bookingUid: event.booking.uid }, 'webhook not sent')
      }
    }
  }

  app.setErrorHandler((error: FastifyError | CalcomHttpError, request, reply) => {
    if (error instanceof CalcomHttpError) {
      return reply.code(error.statusCode).send(errorEnvelope(request.url, error.code, error.message, clock()))
    }
    const status = error.statusCode ?? 500
    if (status < 500) {
      const code = EXCEPTION_CODES[status] ?? 'BadRequestException'
      return reply.code(status).send(errorEnvelope(request.url, code, error.message, clock()))
    }
    request.log.error({ err: error }, 'sandbox failure')
    return reply.code(500).send(errorEnvelope(request.url, 'INTERNAL_SERVER_ERROR', 'Internal server error', clock()))
  })
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        errorEnvelope(
          request.url,
          'NotFoundException',
          `Cannot ${request.method} ${request.url.split('?')[0]}`,
          clock(),
        ),
      ),
  )
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async () => ({ status: 'ready' }))

  app.register(async (api) => {
    const hooks = apiHooks(api, {
      clock,
      tenantByKey,
      rateLimiter,
      faults,
      requestLog,
      dispatch,
      lifetime: () => lifetime.signal,
    })
    bookingsRoutes(api, { store, clock, ...hooks })
  })

  const control: SandboxControl = {
    addFault: (match, action, times = 1) => faults.add(match, action, times),
    faults: () => faults.pending(),
    clearFaults: (tenantId) => faults.clear(tenantId),
    bookings: (tenantId) =>
      store
        .all()
        .filter((booking) => !tenantId || booking.tenantId === tenantId)
        .map((booking) => ({ ...booking })),
    deleteBooking: (uid) => store.remove(uid),
    requests: () => requestLog.all(),
    webhooks: () => sender.deliveries(),
    flushWebhooks: () => sender.flush(),
    holdWebhooks: (tenantId) => sender.hold(tenantId),
    heldWebhooks: () => sender.held(),
    releaseWebhooks: (how) => sender.release(how),
    setWebhookRetries: (policy) => sender.setRetries(policy),
    hasTenant: (tenantId) => tenants.has(tenantId),
    setWebhookUrl(tenantId, url) {
      const tenant = tenants.get(tenantId)
      if (!tenant) throw new Error(`unknown sandbox tenant ${tenantId}`)
      tenant.webhookUrl = url
    },
    reset() {
      lifetime.abort()
      lifetime = newLifetime()
      store.reset()
      faults.reset()
      requestLog.reset()
      rateLimiter.reset()
      sender.reset()
    },
  }
  app.register(async (admin) => controlRoutes(admin, control))

  // Free hung and delayed requests before the server waits for its connections.
  app.addHook('preClose', async () => lifetime.abort())
  app.addHook('onClose', async () => sender.close())

  return { app, store, ...control }
}
