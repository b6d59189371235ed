import type { Names } from '@calsync/contracts'
import type { JetStreamClient } from '@nats-io/jetstream'
import { type KV, Kvm } from '@nats-io/kv'
import type { Logger } from './logger.ts'

/**
 * When each tenant's last Cal.com webhook was accepted, in a JetStream KV bucket: written by the
 * gateways (at most every `minIntervalMs` per tenant and instance, off the request's path), read
 * by the reconciler to tell a quiet tenant from one whose webhooks stopped (webhook silence).
 */
export function openWebhookActivity(options: {
  js: JetStreamClient
  names: Names
  logger: Logger
  clock?: () => Date
  minIntervalMs?: number
}) {
  const clock = options.clock ?? (() => new Date())
  const minIntervalMs = options.minIntervalMs ?? 1000
  const log = options.logger.child({ component: 'webhook-activity' })
  let bucket: Promise<KV> | undefined
  const open = () => {
    bucket ??= new Kvm(options.js).create(options.names.buckets.webhookActivity, { history: 1 })
    bucket.catch(() => {
      bucket = undefined
    })
    return bucket
  }
  const lastWritten = new Map<string, number>()

  return {
    /** A webhook of `tenantId` was accepted now. Never throws, never waits. */
    accepted(tenantId: string): void {
      const now = clock().getTime()
      if (now - (lastWritten.get(tenantId) ?? Number.NEGATIVE_INFINITY) < minIntervalMs) return
      lastWritten.set(tenantId, now)
      void open()
        .then((kv) => kv.put(tenantId, new Date(now).toISOString()))
        .catch((error: unknown) => {
          lastWritten.delete(tenantId)
          log.warn({ err: error, tenantId }, 'could not record webhook activity')
        })
    },
    /** When `tenantId`'s last webhook was accepted (to within `minIntervalMs`), or null if never. */
    async lastAccepted(tenantId: string): Promise<Date | null> {
      const entry = await (await open()).get(tenantId)
      if (entry?.operation !== 'PUT') return null
      const at = Date.parse(entry.string())
      return Number.isFinite(at) ? new Date(at) : null
    },
  }
}

export type WebhookActivity = ReturnType<typeof openWebhookActivity>
