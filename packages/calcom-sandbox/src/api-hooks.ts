import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { BookingsRoutesDeps } from './bookings-routes.ts'
import { badRequest, CalcomHttpError, EXCEPTION_CODES, throttled, unauthorized } from './calcom-http-error.ts'
import type { FaultAction, FaultQueue } from './fault-queue.ts'
import type { RateLimiter } from './rate-limiter.ts'
import type { RequestLog, RequestRecord } from './request-log.ts'
import type { SandboxTenant } from './sandbox-store.ts'
import type { WebhookEvent } from './webhook-body.ts'

/** The only version the sandbox serves; every booking endpoint requires it (calcom/README.md §1). */
export const CAL_API_VERSION = '2024-08-13'

export const NO_AUTH_MESSAGE =
  "No authentication method provided. Either pass an API key as 'Bearer' header or OAuth client credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers"
export const INVALID_KEY_MESSAGE = 'Your api key is not valid'

interface RequestState {
  apiKey: string | undefined
  tenant: SandboxTenant | undefined
  record: RequestRecord
  /** A delay fault not yet served. */
  delayMs: number
  drop: boolean
  hung: boolean
  webhooks: WebhookEvent[]
}

declare module 'fastify' {
  interface FastifyRequest {
    calcomSandbox: RequestState | null
  }
}

export interface ApiHooksDeps {
  clock: () => Date
  tenantByKey(apiKey: string): SandboxTenant | undefined
  rateLimiter: RateLimiter
  faults: FaultQueue
  requestLog: RequestLog
  /** Sends the webhooks of one request's changes; called once its answer is out. */
  dispatch(tenant: SandboxTenant, events: WebhookEvent[]): void
  /** Aborted when the sandbox is reset or closed, which frees delayed and hung requests. */
  lifetime(): AbortSignal
}

const describe = (action: FaultAction) =>
  'status' in action
    ? `status ${action.status}`
    : 'delayMs' in action
      ? `delay ${action.delayMs}ms`
      : 'hang' in action
        ? 'hang'
        : 'commitThenDrop'

function headerOf(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name]
  return Array.isArray(value) ? value.join(', ') : (value ?? null)
}

/**
 * What stands in front of the booking routes, in Cal.com's order: the throttler (per API key),
 * then authentication, then the version; then the injected faults, the request log, and the
 * webhooks, which leave only after the answer.
 */
export function apiHooks(
  api: FastifyInstance,
  deps: ApiHooksDeps,
): Pick<BookingsRoutesDeps, 'tenantOf' | 'emit' | 'beforeCommit'> {
  const stateOf = (request: FastifyRequest): RequestState => {
    if (!request.calcomSandbox) throw new Error('sandbox request state missing')
    return request.calcomSandbox
  }

  async function hang(request: FastifyRequest): Promise<never> {
    const socket = request.raw.socket
    const signal = deps.lifetime()
    if (!socket.destroyed && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const release = () => {
          socket.off('close', release)
          signal.removeEventListener('abort', free)
          resolve()
        }
        const free = () => {
          socket.destroy()
          release()
        }
        socket.on('close', release)
        signal.addEventListener('abort', free)
      })
    }
    socket.destroy()
    throw new CalcomHttpError(503, 'ServiceUnavailableException', 'sandbox fault: hung request released')
  }

  async function serveDelay(state: RequestState): Promise<void> {
    const ms = state.delayMs
    state.delayMs = 0
    if (ms > 0) await sleep(ms, undefined, { signal: deps.lifetime() })
  }

  /** Runs `action` once the answer has been handed to the client, or at once if the client is gone. */
  function afterAnswer(request: FastifyRequest, reply: FastifyReply, action: () => void): void {
    let done = false
    const once = () => {
      if (done) return
      done = true
      action()
    }
    if (request.raw.socket.destroyed) {
      setImmediate(once)
      return
    }
    reply.raw.once('finish', once)
    reply.raw.once('close', once)
  }

  api.decorateRequest('calcomSandbox', null)

  api.addHook('onRequest', async (request, reply) => {
    const apiKey = request.headers.authorization?.match(/^bearer\s+(\S+)\s*$/i)?.[1]
    const tenant = apiKey ? deps.tenantByKey(apiKey) : undefined
    const record = deps.requestLog.add({
      method: request.method,
      path: request.url,
      tenantId: tenant?.id ?? null,
      status: null,
      traceparent: headerOf(request, 'traceparent'),
      calApiVersion: headerOf(request, 'cal-api-version'),
      body: null,
      fault: null,
      at: deps.clock().toISOString(),
    })
    request.calcomSandbox = { apiKey, tenant, record, delayMs: 0, drop: false, hung: false, webhooks: [] }
    // Cal.com's throttler is a global guard: it counts a request before authentication looks at it.
    const limit = deps.rateLimiter.hit(apiKey ?? `ip:${request.ip}`)
    reply.headers(limit.headers)
    if (!limit.allowed) throw throttled()
    if (!apiKey) throw unauthorized(NO_AUTH_MESSAGE)
    if (!tenant) throw unauthorized(INVALID_KEY_MESSAGE)
    const version = headerOf(request, 'cal-api-version')
    if (version !== CAL_API_VERSION) {
      throw badRequest(
        `cal-api-version must be ${CAL_API_VERSION} (got ${version === null ? 'none' : `"${version}"`}): this sandbox only serves ${CAL_API_VERSION}, and the real Cal.com API would silently answer in the older 2024-04-15 bookings shape instead`,
      )
    }
  })

  api.addHook('preHandler', async (request, reply) => {
    const state = stateOf(request)
    state.record.body = request.body ?? null
    const action = deps.faults.take({
      method: request.method,
      url: request.url,
      apiKey: state.apiKey,
      tenantId: state.tenant?.id,
    })
    if (!action) return
    state.record.fault = describe(action)
    if ('status' in action) {
      if (action.status === 429) {
        reply.headers({
          'x-ratelimit-remaining-default': '0',
          'x-ratelimit-reset-default': String(action.resetSeconds ?? 1),
        })
        throw throttled()
      }
      const code = EXCEPTION_CODES[action.status] ?? 'INTERNAL_SERVER_ERROR'
      throw new CalcomHttpError(action.status, code, `sandbox fault: HTTP ${action.status}`)
    }
    if ('delayMs' in action) state.delayMs = action.delayMs
    else if ('hang' in action) {
      state.hung = true
      await hang(request)
    } else state.drop = true
  })

  api.addHook('onSend', async (request, reply, payload) => {
    const state = request.calcomSandbox
    if (!state) return payload
    // A delay the handler did not serve (it failed before its write) is served here.
    await serveDelay(state).catch(() => undefined)
    if (!state.hung) state.record.status = reply.statusCode
    // The work is done; the client never hears of it (a lost answer).
    if (state.drop) request.raw.socket.destroy()
    const { tenant, webhooks } = state
    if (tenant && webhooks.length > 0) afterAnswer(request, reply, () => deps.dispatch(tenant, webhooks))
    return payload
  })

  return {
    tenantOf(request) {
      const tenant = stateOf(request).tenant
      if (!tenant) throw unauthorized(INVALID_KEY_MESSAGE)
      return tenant
    },
    emit(request, event) {
      stateOf(request).webhooks.push(event)
    },
    async beforeCommit(request) {
      try {
        await serveDelay(stateOf(request))
      } catch {
        throw new CalcomHttpError(503, 'ServiceUnavailableException', 'sandbox reset or closed during a delay fault')
      }
    },
  }
}
