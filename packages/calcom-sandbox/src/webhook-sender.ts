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
  /** Increases with every attempt sent, so a caller can take the attempts after a point. */
  seq: number
  /** 1 for a first try; a retry (see `WebhookRetries`) counts on. */
  attempt: number
  /** A failed attempt that will be tried again; a failed one without is lost. */
  retrying: boolean
}

export interface WebhookToSend {
  tenantId: string
  url: string
  secret: string
  trigger: string
  bookingUid: string
  body: string
  /** The body anew, for a retry: Cal.com may rebuild the payload (a new `createdAt`) at each attempt. */
  rebuild?: () => string
}

/**
 * Cal.com's newest delivery path (calcom/README.md §4.6, §9): another attempt after an answer of
 * 408, 429 or 5xx, or no answer, up to `attempts` in all. Off by default: the direct path sends once.
 */
export interface WebhookRetries {
  attempts: number
  /** Between attempts; Cal.com waits 10 s and more, tests far less. */
  delayMs: number
}

export const RETRIED_STATUSES = new Set([408, 429, 500, 502, 503, 504])

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
 * no redirects followed, aborted after 20 s, unless retries are set (the newest path); every
 * attempt is recorded.
 */
export function createWebhookSender(options: WebhookSenderOptions) {
  const timeoutMs = options.timeoutMs ?? 20_000
  // Its own connection pool, closed with the sandbox, so no socket outlives it. Idle sockets are
  // dropped after 1 s whatever the receiver's Keep-Alive hint says (undici would keep one until a
  // second before the receiver's own timeout): on a loaded machine that second is not enough, a
  // reused socket the receiver has just closed fails the delivery with ECONNRESET.
  const agent = new Agent({ keepAliveTimeout: 1_000, keepAliveMaxTimeout: 1_000 })
  const deliveries: WebhookDelivery[] = []
  let nextSeq = 1
  let retries: WebhookRetries | undefined
  const inFlight = new Set<Promise<void>>()
  // Tests hold deliveries back (all tenants, or some) and release them in an order of their choosing.
  let holdAll = false
  const holdTenants = new Set<string>()
  let held: Array<HeldWebhook & { webhook: WebhookToSend }> = []
  let nextHeldId = 1

  async function attempt(webhook: WebhookToSend, body: string, record: WebhookDelivery): Promise<void> {
    try {
      const response = await request(webhook.url, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          'content-type': 'application/json',
          'x-cal-signature-256': webhookSignature(webhook.secret, body),
          'x-cal-webhook-version': '2021-10-20',
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      })
      await response.body.dump()
      record.status = response.statusCode
      record.ok = response.statusCode >= 200 && response.statusCode < 300
    } catch (error) {
      record.error = (error as Error).message
    }
  }

  /** Every attempt of one delivery, each recorded; resolves after the last. */
  async function deliver(webhook: WebhookToSend): Promise<void> {
    let body = webhook.body
    for (let number = 1; ; number++) {
      const record = recordAttempt(webhook, body, number)
      await attempt(webhook, body, record)
      const policy = retries
      const again =
        !record.ok &&
        policy !== undefined &&
        number < policy.attempts &&
        (record.status === null || RETRIED_STATUSES.has(record.status))
      if (!again) return
      record.retrying = true
      await new Promise((resolve) => setTimeout(resolve, policy.delayMs))
      body = webhook.rebuild?.() ?? body
    }
  }

  function recordAttempt(webhook: WebhookToSend, body: string, number: number): WebhookDelivery {
    const { secret: _secret, rebuild: _rebuild, ...described } = webhook
    const at = options.clock().toISOString()
    const record: WebhookDelivery = {
      ...described,
      body,
      status: null,
      ok: false,
      error: null,
      at,
      seq: nextSeq++,
      attempt: number,
      retrying: false,
    }
    deliveries.push(record)
    if (deliveries.length > (options.maxEntries ?? 10_000)) deliveries.shift()
    return record
  }

  /** Resolves once every webhook sent so far has been answered or has failed. */
  async function flush(): Promise<void> {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight])
  }

  function dispatch(webhook: WebhookToSend): void {
    const task = deliver(webhook).finally(() => inFlight.delete(task))
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
    /** Retries failed deliveries as Cal.com's newest path does; undefined: one attempt each. */
    setRetries(policy: WebhookRetries | undefined): void {
      retries = policy
    },
    retries: (): WebhookRetries | undefined => retries,
    reset(): void {
      retries = undefined
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
