import { createHmac } from 'node:crypto'
import { request } from 'undici'

export interface WebhookDelivery {
  tenantId: string
  url: string
  trigger: string
  bookingUid: string
  status: number | null
  error: string | null
  at: string
}

/**
 * Sends webhooks the way Cal.com does (calcom/README.md §4.3, §4.5): JSON body, hex HMAC-SHA256
 * of the exact body in X-Cal-Signature-256, one attempt, no redirects followed, 20 s timeout.
 */
export function createWebhookSender() {
  const deliveries: WebhookDelivery[] = []
  const inFlight = new Set<Promise<void>>()

  async function deliver(url: string, secret: string, body: string, record: WebhookDelivery) {
    try {
      const response = await request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-cal-signature-256': createHmac('sha256', secret).update(body).digest('hex'),
          'x-cal-webhook-version': '2021-10-20',
        },
        body,
        headersTimeout: 20_000,
        bodyTimeout: 20_000,
      })
      await response.body.dump()
      record.status = response.statusCode
    } catch (error) {
      record.error = (error as Error).message
    }
  }

  return {
    deliveries: () => [...deliveries],
    send(tenantId: string, url: string, secret: string, trigger: string, bookingUid: string, payload: unknown): void {
      const record: WebhookDelivery = {
        tenantId,
        url,
        trigger,
        bookingUid,
        status: null,
        error: null,
        at: new Date().toISOString(),
      }
      deliveries.push(record)
      const task = deliver(url, secret, JSON.stringify(payload), record).finally(() => inFlight.delete(task))
      inFlight.add(task)
    },
    /** Resolves once every webhook sent so far has been answered or failed. */
    async flush(): Promise<void> {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight])
    },
    reset: () => {
      deliveries.length = 0
    },
  }
}

export type WebhookSender = ReturnType<typeof createWebhookSender>
