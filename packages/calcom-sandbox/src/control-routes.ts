import type { FastifyInstance } from 'fastify'
import { badRequest, notFound } from './calcom-http-error.ts'
import { checkFault, type FaultAction, type FaultMatch, type QueuedFault } from './fault-queue.ts'
import type { RequestRecord } from './request-log.ts'
import type { Booking } from './sandbox-store.ts'
import type { HeldWebhook, ReleaseOrder, WebhookDelivery, WebhookRetries } from './webhook-sender.ts'

export interface SandboxControl {
  addFault(match: FaultMatch, action: FaultAction, times?: number): void
  faults(): QueuedFault[]
  /** Lifts queued faults (of one tenant, when given) without touching bookings or logs. */
  clearFaults(tenantId?: string): number
  bookings(tenantId?: string): Booking[]
  /** Removes a booking without a webhook (false: there was none). */
  deleteBooking(uid: string): boolean
  requests(): RequestRecord[]
  webhooks(): WebhookDelivery[]
  flushWebhooks(): Promise<void>
  /** Keeps later webhooks (of one tenant, when given) back until released. */
  holdWebhooks(tenantId?: string): void
  heldWebhooks(): HeldWebhook[]
  releaseWebhooks(how?: ReleaseOrder): { sent: number[]; dropped: number[]; unknown: number[] }
  /** Retries failed deliveries as Cal.com's newest path does; undefined: one attempt (the default). */
  setWebhookRetries(policy: WebhookRetries | undefined): void
  hasTenant(tenantId: string): boolean
  setWebhookUrl(tenantId: string, url: string | undefined): void
  reset(): void
}

/** The test-only control API under /_sandbox: no auth, so the sandbox must never face the internet. */
export function controlRoutes(app: FastifyInstance, control: SandboxControl): void {
  app.post('/_sandbox/faults', async (request, reply) => {
    const body = (request.body ?? {}) as { match?: unknown; action?: unknown; times?: unknown }
    const problem = checkFault(body.match, body.action, body.times)
    if (problem) throw badRequest(problem)
    control.addFault((body.match ?? {}) as FaultMatch, body.action as FaultAction, (body.times as number) ?? 1)
    return reply.code(201).send({ status: 'queued', faults: control.faults() })
  })
  app.get('/_sandbox/faults', async () => control.faults())
  app.delete('/_sandbox/faults', async (request) => {
    const { tenantId } = request.query as { tenantId?: string }
    return { status: 'cleared', cleared: control.clearFaults(tenantId) }
  })
  app.get('/_sandbox/bookings', async (request) => control.bookings((request.query as { tenantId?: string }).tenantId))
  app.delete('/_sandbox/bookings/:uid', async (request) => {
    const { uid } = request.params as { uid: string }
    if (!control.deleteBooking(uid)) throw notFound(`no booking ${uid}`)
    return { status: 'deleted', uid }
  })
  app.get('/_sandbox/requests', async () => control.requests())
  app.get('/_sandbox/webhooks', async () => control.webhooks())
  app.post('/_sandbox/webhooks/flush', async () => {
    await control.flushWebhooks()
    return control.webhooks()
  })
  app.post('/_sandbox/webhooks/hold', async (request, reply) => {
    const { tenantId } = (request.body ?? {}) as { tenantId?: unknown }
    if (tenantId !== undefined && (typeof tenantId !== 'string' || !control.hasTenant(tenantId))) {
      throw badRequest('tenantId must name a sandbox tenant, or be left out to hold every webhook')
    }
    control.holdWebhooks(tenantId)
    return reply.code(201).send({ status: 'holding', tenantId: tenantId ?? null })
  })
  app.get('/_sandbox/webhooks/held', async () => control.heldWebhooks())
  app.post('/_sandbox/webhooks/release', async (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    const ids = (name: string) => {
      const value = body[name]
      if (value === undefined) return undefined
      if (!Array.isArray(value) || !value.every((id) => Number.isInteger(id))) {
        throw badRequest(`${name} must be an array of held webhook ids`)
      }
      return value as number[]
    }
    if (body.keepHolding !== undefined && typeof body.keepHolding !== 'boolean') {
      throw badRequest('keepHolding must be a boolean')
    }
    const how: ReleaseOrder = {}
    for (const name of ['order', 'twice', 'drop'] as const) {
      const list = ids(name)
      if (list) how[name] = list
    }
    if (body.keepHolding === true) how.keepHolding = true
    const released = control.releaseWebhooks(how)
    if (released.unknown.length > 0) throw notFound(`no held webhooks ${released.unknown.join(', ')}`)
    return { status: 'released', ...released }
  })
  app.put('/_sandbox/webhooks/retries', async (request) => {
    const { attempts, delayMs = 0 } = (request.body ?? {}) as { attempts?: unknown; delayMs?: unknown }
    if (!Number.isInteger(attempts) || (attempts as number) < 1 || (attempts as number) > 10) {
      throw badRequest('attempts must be an integer from 1 to 10 (1: send once, the direct path)')
    }
    if (!Number.isInteger(delayMs) || (delayMs as number) < 0 || (delayMs as number) > 600_000) {
      throw badRequest('delayMs must be an integer from 0 to 600000')
    }
    const retries = attempts === 1 ? undefined : { attempts: attempts as number, delayMs: delayMs as number }
    control.setWebhookRetries(retries)
    return { status: 'ok', retries: retries ?? null }
  })
  app.post('/_sandbox/reset', async () => {
    control.reset()
    return { status: 'reset' }
  })
  app.put('/_sandbox/tenants/:tenantId/webhook-url', async (request) => {
    const { tenantId } = request.params as { tenantId: string }
    const { url } = (request.body ?? {}) as { url?: unknown }
    if (!control.hasTenant(tenantId)) throw notFound(`no sandbox tenant ${tenantId}`)
    if (url !== null && (typeof url !== 'string' || !/^https?:\/\//.test(url))) {
      throw badRequest('url must be an http(s) URL, or null for no webhooks')
    }
    control.setWebhookUrl(tenantId, url ?? undefined)
    return { status: 'ok', tenantId, url }
  })
}
