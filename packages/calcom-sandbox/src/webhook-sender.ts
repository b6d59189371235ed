import { createHmac } from 'node:crypto'
import { Agent, request } from 'undici'

export interface WebhookDelivery {
  tenantId: string
  url: string
  trigger: string
  bookingUid: string
  /** The exact body sent, the bytes the signature covers. */
  body: string
  /** The receiver's HTTP status; null when no answer came (see `error`). */
  status: number | null
  /** Cal.com counts only a 2xx as delivered: a redirect is not followed and counts as failed. */
  ok: boolean
  error: string | null
  at: string
}

export interface WebhookToSend {
  tenantId: string
  url: string
  secret: string
  trigger: string
  bookingUid: string
  body: string
}

/** A webhook kept back by a hold, with the number `release` orders it by. */
export interface HeldWebhook {
  id: number
  tenantId: string
  trigger: string
  bookingUid: string
  heldAt: string
}

export interface ReleaseOrder {
  /** Held ids in the order to send them; held ones not named stay held. Absent: all, oldest first. */
  order?: number[]
  /** Held ids to send twice (a delivery Cal.com repeats). */
  twice?: number[]
  /** Held ids to drop unsent (a delivery that never arrives). */
  drop?: number[]
  /** Keep holding later webhooks even when this release leaves none held. */
  keepHolding?: boolean
}

export interface WebhookSenderOptions {
  clock: () => Date
  timeoutMs?: number
  /** Only the newest deliveries are kept in the log. */
  maxEntries?: number
}

/** Lower-case hex HMAC-SHA256 of the exact body with the tenant's secret (calcom/README.md §4.5). */
export const webhookSignature = (secret: string, body: string) =>
  createHmac('sha256', secret).update(body).digest('hex')

/**
 * Sends webhooks the way Cal.com's direct path does (calcom/README.md §4.3, §4.6): one attempt,
 * no redirects followed, aborted after 20 s; every delivery is recorded.
 */
export function createWebhookSender(options: WebhookSenderOptions) {
  const timeoutMs = options.timeoutMs ?? 20_000
  // Its own connection pool, closed with the sandbox, so no socket outlives it.
  const agent = new Agent({ keepAliveTimeout: 1_000 })
  const deliveries: WebhookDelivery[] = []
  const inFlight = new Set<Promise<void>>()
  // Tests hold deliveries back (all tenants, or some) and release them in an order of their choosing.
  let holdAll = false
  const holdTenants = new Set<string>()
  let held: Array<HeldWebhook & { webhook: WebhookToSend }> = []
  let nextHeldId = 1

  async function deliver(webhook: WebhookToSend, record: WebhookDelivery): Promise<void> {
    try {
      const response = await request(webhook.url, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          'content-type': 'application/json',
          'x-cal-signature-256': webhookSignature(webhook.secret, webhook.body),
          'x-cal-webhook-version': '2021-10-20',
        },
        body: webhook.body,
        signal: AbortSignal.timeout(timeoutMs),
      })
      await response.body.dump()
      record.status = response.statusCode
      record.ok = response.statusCode >= 200 && response.statusCode < 300
    } catch (error) {
      record.error = (error as Error).message
    }
  }

  /** Resolves once every webhook sent so far has been answered or has failed. */
  async function flush(): Promise<void> {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight])
  }

  function dispatch(webhook: WebhookToSend): void {
    const { secret: _secret, ...described } = webhook
    const at = options.clock().toISOString()
    const record: WebhookDelivery = { ...described, status: null, ok: false, error: null, at }
    deliveries.push(record)
    if (deliveries.length > (options.maxEntries ?? 10_000)) deliveries.shift()
    const task = deliver(webhook, record).finally(() => inFlight.delete(task))
    inFlight.add(task)
  }

  const describe = ({ webhook: _webhook, ...rest }: HeldWebhook & { webhook: WebhookToSend }): HeldWebhook => rest

  return {
    deliveries: (): WebhookDelivery[] => deliveries.map((delivery) => ({ ...delivery })),
    send(webhook: WebhookToSend): void {
      if (holdAll || holdTenants.has(webhook.tenantId)) {
        const { tenantId, trigger, bookingUid } = webhook
        held.push({ id: nextHeldId++, tenantId, trigger, bookingUid, heldAt: options.clock().toISOString(), webhook })
        return
      }
      dispatch(webhook)
    },
    /** Keeps every later webhook (of one tenant, when given) back until released. */
    hold(tenantId?: string): void {
      if (tenantId === undefined) holdAll = true
      else holdTenants.add(tenantId)
    },
    held: (): HeldWebhook[] => held.map(describe),
    /**
     * Sends held webhooks in the order asked (unknown ids are refused before anything is sent) and,
     * unless `keepHolding`, stops holding once none is left held.
     */
    release(how: ReleaseOrder = {}): { sent: number[]; dropped: number[]; unknown: number[] } {
      const known = new Set(held.map((item) => item.id))
      const named = [...(how.order ?? []), ...(how.twice ?? []), ...(how.drop ?? [])]
      const unknown = named.filter((id) => !known.has(id))
      if (unknown.length > 0) return { sent: [], dropped: [], unknown }
      const dropped = how.drop ?? []
      const order = how.order ?? held.map((item) => item.id).filter((id) => !dropped.includes(id))
      const sent: number[] = []
      for (const id of order) {
        const item = held.find((candidate) => candidate.id === id)
        if (!item) continue
        dispatch(item.webhook)
        if (how.twice?.includes(id)) dispatch(item.webhook)
        sent.push(id)
      }
      held = held.filter((item) => !sent.includes(item.id) && !dropped.includes(item.id))
      if (held.length === 0 && !how.keepHolding) {
        holdAll = false
        holdTenants.clear()
      }
      return { sent, dropped, unknown: [] }
    },
    flush,
    reset(): void {
      deliveries.length = 0
      held = []
      holdAll = false
      holdTenants.clear()
    },
    async close(): Promise<void> {
      await flush()
      await agent.close()
    },
  }
}

export type WebhookSender = ReturnType<typeof createWebhookSender>
