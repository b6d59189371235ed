import type { Socket } from 'node:net'
import type { Logger } from '@calsync/service-kit'
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify'
import { bookingsRoutes, CalcomHttpError } from './bookings-routes.ts'
import { errorEnvelope, type WebhookTrigger, webhookBody } from './calcom-shapes.ts'
import { createFaults, type FaultAction, type FaultMatch } from './faults.ts'
import { createRateLimiter } from './rate-limiter.ts'
import { type Booking, createSandboxStore, type SandboxTenant } from './sandbox-store.ts'
import { createWebhookSender } from './webhook-sender.ts'

/** The Nest exception names Cal.com puts in `error.code` (calcom/README.md §3.1). */
const FAULT_CODES: Record<number, string> = {
  400: 'BadRequestException',
  401: 'UnauthorizedException',
  403: 'ForbiddenException',
  404: 'NotFoundException',
  409: 'ConflictException',
  422: 'UnprocessableEntityException',
}

export interface SandboxOptions {
  tenants: SandboxTenant[]
  /** Calls per minute per API key before 429, like Cal.com's default throttler. */
  rateLimitPerMinute?: number
  clock?: () => Date
  logger?: Logger
}

export interface RequestRecord {
  method: string
  path: string
  tenantId: string | null
  status: number | null
  traceparent: string | null
  calApiVersion: string | null
  body: unknown
  at: string
}

declare module 'fastify' {
  interface FastifyRequest {
    sandboxTenant: SandboxTenant | null
    sandboxRecord: RequestRecord | null
    dropAfterCommit: boolean
  }
}

/**
 * A stand-in for Cal.com API v2 that behaves like it as far as calsync can observe: the booking
 * endpoints, availability, reschedule semantics, signed webhooks, rate limits — plus a control
 * API under /_sandbox for tests to inject faults and read what happened.
 */
export function createCalcomSandbox(options: SandboxOptions) {
  const clock = options.clock ?? (() => new Date())
  const tenants = new Map(options.tenants.map((tenant) => [tenant.id, { ...tenant }]))
  const store = createSandboxStore()
  const webhooks = createWebhookSender()
  const faults = createFaults()
  const rateLimiter = createRateLimiter({
    perMinute: options.rateLimitPerMinute ?? 120,
    clock: () => clock().getTime(),
  })
  const requests: RequestRecord[] = []
  const hanging = new Set<{ release: () => void; socket: Socket }>()

  const app: FastifyInstance = Fastify({
    ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : { logger: false }),
    forceCloseConnections: true,
  })

  function tenantByKey(apiKey: string): SandboxTenant | undefined {
    for (const tenant of tenants.values()) if (tenant.apiKey === apiKey) return tenant
    return undefined
  }

  function emit(tenant: SandboxTenant, trigger: WebhookTrigger, booking: Booking, previous?: Booking) {
    const current = tenants.get(tenant.id)
    if (!current?.webhookUrl) return
    webhooks.send(
      tenant.id,
      current.webhookUrl,
      current.webhookSecret,
      trigger,
      booking.uid,
      webhookBody(trigger, booking, previous),
    )
  }

  app.decorateRequest('sandboxTenant', null)
  app.decorateRequest('sandboxRecord', null)
  app.decorateRequest('dropAfterCommit', false)

  app.setErrorHandler((error: FastifyError | CalcomHttpError, request, reply) => {
    const path = request.url
    if (error instanceof CalcomHttpError)
      return reply.code(error.statusCode).send(errorEnvelope(path, error.code, error.message))
    if ((error as FastifyError).statusCode === 400 || (error as FastifyError).validation) {
      return reply.code(400).send(errorEnvelope(path, 'BadRequestException', error.message))
    }
    request.log.error({ err: error }, 'sandbox failure')
    return reply.code(500).send(errorEnvelope(path, 'INTERNAL_SERVER_ERROR', 'Internal server error'))
  })

  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async () => ({ status: 'ready' }))

  app.register(async (api) => {
    api.addHook('onRequest', async (request, reply) => {
      const header = request.headers.authorization
      const key = header?.match(/^bearer\s+(.+)$/i)?.[1]?.trim()
      const tenant = key ? tenantByKey(key) : undefined
      request.sandboxTenant = tenant ?? null
      const record: RequestRecord = {
        method: request.method,
        path: request.url,
        tenantId: tenant?.id ?? null,
        status: null,
        traceparent: (request.headers.traceparent as string | undefined) ?? null,
        calApiVersion: (request.headers['cal-api-version'] as string | undefined) ?? null,
        body: null,
        at: clock().toISOString(),
      }
      request.sandboxRecord = record
      requests.push(record)
      if (!key)
        throw new CalcomHttpError(
          401,
          'UnauthorizedException',
          "No authentication method provided. Either pass an API key as 'Bearer' header or OAuth client credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers",
        )
      if (!tenant) throw new CalcomHttpError(401, 'UnauthorizedException', 'Your api key is not valid')
      const limit = rateLimiter.hit(key)
      reply.headers(limit.headers)
      if (!limit.allowed)
        throw new CalcomHttpError(429, 'ThrottlerException', 'Too many requests. Please try again later.')
    })
    api.addHook('preHandler', async (request, reply) => {
      if (request.sandboxRecord) request.sandboxRecord.body = request.body ?? null
      const action = faults.take(request.method, request.url, request.sandboxTenant?.id)
      if (!action) return
      await applyFault(action, request, reply)
    })
    api.addHook('onSend', async (request, reply, payload) => {
      if (request.sandboxRecord) request.sandboxRecord.status = reply.statusCode
      // The operation is done; the client never hears of it (a lost answer).
      if (request.dropAfterCommit) request.raw.socket.destroy()
      return payload
    })
    await bookingsRoutes(api, {
      store,
      clock,
      emit,
      tenantOf: (request: FastifyRequest) => {
        if (!request.sandboxTenant) throw new CalcomHttpError(401, 'UnauthorizedException', 'Your api key is not valid')
        return request.sandboxTenant
      },
    })
  })

  async function applyFault(action: FaultAction, request: FastifyRequest, reply: import('fastify').FastifyReply) {
    if ('status' in action) {
      if (action.status === 429) {
        reply.headers({ 'x-ratelimit-remaining-default': '0', 'x-ratelimit-reset-default': '1' })
        throw new CalcomHttpError(429, 'ThrottlerException', 'Too many requests. Please try again later.')
      }
      throw new CalcomHttpError(
        action.status,
        FAULT_CODES[action.status] ?? 'INTERNAL_SERVER_ERROR',
        `sandbox fault: HTTP ${action.status}`,
      )
    }
    if ('delayMs' in action) {
      await new Promise((resolve) => setTimeout(resolve, action.delayMs))
      return
    }
    if ('hang' in action) {
      await new Promise<void>((resolve) => {
        const entry = { release: resolve, socket: request.raw.socket }
        hanging.add(entry)
        request.raw.socket.once('close', () => {
          hanging.delete(entry)
          resolve()
        })
      })
      throw new CalcomHttpError(503, 'INTERNAL_SERVER_ERROR', 'sandbox fault: hung request released')
    }
    request.dropAfterCommit = true
  }

  function releaseHanging() {
    for (const entry of hanging) {
      entry.socket.destroy()
      entry.release()
    }
    hanging.clear()
  }

  const control = {
    addFault(match: FaultMatch, action: FaultAction, times = 1) {
      faults.add(match, action, times)
    },
    bookings: (tenantId?: string) => store.all().filter((booking) => !tenantId || booking.tenantId === tenantId),
    requests: () => [...requests],
    webhooks: () => webhooks.deliveries(),
    flushWebhooks: () => webhooks.flush(),
    setWebhookUrl(tenantId: string, url: string | undefined) {
      const tenant = tenants.get(tenantId)
      if (!tenant) throw new Error(`unknown sandbox tenant ${tenantId}`)
      tenant.webhookUrl = url
    },
    reset() {
      store.reset()
      requests.length = 0
      faults.reset()
      rateLimiter.reset()
      webhooks.reset()
      releaseHanging()
    },
  }

  app.register(async (admin) => {
    admin.post('/_sandbox/faults', async (request, reply) => {
      const body = request.body as { match?: FaultMatch; action?: FaultAction; times?: number }
      if (!body?.action) return reply.code(400).send({ error: 'bad_request', message: 'action is required' })
      control.addFault(body.match ?? {}, body.action, body.times ?? 1)
      return reply.code(201).send({ status: 'queued' })
    })
    admin.get('/_sandbox/bookings', async (request) =>
      control.bookings((request.query as { tenantId?: string }).tenantId),
    )
    admin.get('/_sandbox/requests', async () => control.requests())
    admin.get('/_sandbox/webhooks', async () => control.webhooks())
    admin.post('/_sandbox/reset', async () => {
      control.reset()
      return { status: 'reset' }
    })
    admin.put('/_sandbox/tenants/:tenantId/webhook-url', async (request, reply) => {
      const { tenantId } = request.params as { tenantId: string }
      const { url } = (request.body ?? {}) as { url?: string }
      if (!tenants.has(tenantId)) return reply.code(404).send({ error: 'not_found', message: 'unknown tenant' })
      control.setWebhookUrl(tenantId, url)
      return { status: 'ok' }
    })
  })

  app.addHook('onClose', async () => {
    releaseHanging()
    await webhooks.flush()
  })

  return { app, ...control }
}

export type CalcomSandbox = ReturnType<typeof createCalcomSandbox>
