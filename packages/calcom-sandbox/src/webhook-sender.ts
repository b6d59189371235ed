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

  return {
    deliveries: (): WebhookDelivery[] => deliveries.map((delivery) => ({ ...delivery })),
    send(webhook: WebhookToSend): void {
      const { secret: _secret, ...described } = webhook
      const at = options.clock().toISOString()
      const record: WebhookDelivery = { ...described, status: null, ok: false, error: null, at }
      deliveries.push(record)
      if (deliveries.length > (options.maxEntries ?? 10_000)) deliveries.shift()
      const task = deliver(webhook, record).finally(() => inFlight.delete(task))
      inFlight.add(task)
    },
    flush,
    reset(): void {
      deliveries.length = 0
    },
    async close(): Promise<void> {
      await flush()
      await agent.close()
    },
  }
}

export type WebhookSender = ReturnType<typeof createWebhookSender>
