import { isDuplicateKeyError } from '@calsync/service-kit'
import type { Db } from 'mongodb'

export interface WaitDoc {
  _id: string
  tenantId: string
  firstLookedAt: string
}

/**
 * When calsync first looked at a webhook that waits for a booking it never saw (decision rows 31
 * and 32). Their grace runs from that look, not from the webhook's arrival: one that sat in the
 * stream through an outage has not given the webhooks stored behind it any time yet.
 */
export function createWebhookWaits(db: Db) {
  const waits = db.collection<WaitDoc>('webhook_waits')
  const key = (tenantId: string, deliveryId: string) => `${tenantId}|${deliveryId}`

  return {
    /** The first look's time: now, if this is the first. */
    async firstLook(tenantId: string, deliveryId: string, now: Date): Promise<Date> {
      const _id = key(tenantId, deliveryId)
      try {
        await waits.insertOne({ _id, tenantId, firstLookedAt: now.toISOString() })
        return now
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error
        const doc = await waits.findOne({ _id })
        return doc ? new Date(doc.firstLookedAt) : now
      }
    },

    /** Once the webhook is done with; a left-over only costs its few bytes, until `prune`. */
    async forget(tenantId: string, deliveryId: string): Promise<void> {
      await waits.deleteOne({ _id: key(tenantId, deliveryId) })
    },

    /** Left-overs first looked at before `before` (a webhook waits 15 minutes at most). */
    async prune(before: Date): Promise<number> {
      return (await waits.deleteMany({ firstLookedAt: { $lt: before.toISOString() } })).deletedCount
    },
  }
}

export type WebhookWaits = ReturnType<typeof createWebhookWaits>
