import { isDuplicateKeyError } from '@calsync/service-kit'
import type { Db } from 'mongodb'
import { bucketOf } from '../appointments/prune-buckets.ts'

export interface WaitDoc {
  _id: string
  tenantId: string
  firstLookedAt: string
  /** The UTC hour of the first look, which retention deletes by (absent on older records). */
  hour?: string
}

/** The webhooks waiting that would bring one booking uid into being (its CREATED, or the move to it). */
export interface BringingDoc {
  _id: string
  tenantId: string
  deliveries: string[]
  updatedAt: string
  /** The UTC hour of `updatedAt` (absent on older records). */
  hour?: string
}

/**
 * When calsync first looked at a webhook that waits for a booking it never saw (decision rows 31
 * and 32). Their grace runs from that look, not from the webhook's arrival: one that sat in the
 * stream through an outage has not given the webhooks stored behind it any time yet.
 * It also keeps, per booking uid, the waiting webhooks that would bring that booking into being.
 */
export function createWebhookWaits(db: Db) {
  const waits = db.collection<WaitDoc>('webhook_waits')
  const bringing = db.collection<BringingDoc>('webhook_waits_bringing')
  const key = (tenantId: string, deliveryId: string) => `${tenantId}|${deliveryId}`

  return {
    /**
     * A CREATED of `uid`, or a move to it, waits (for calsync's own sync, a chain gap, …): a
     * webhook about `uid` that calsync does not know yet is then not lost, only behind it.
     */
    async bringing(tenantId: string, uid: string, deliveryId: string, now: Date): Promise<void> {
      await bringing.updateOne(
        { _id: key(tenantId, uid) },
        {
          $addToSet: { deliveries: deliveryId },
          $set: { tenantId, updatedAt: now.toISOString(), hour: bucketOf('hour', now.toISOString()) },
        },
        { upsert: true },
      )
    },

    /** That webhook is done with (applied, reviewed, anything but waiting). */
    async broughtOrGone(tenantId: string, uid: string, deliveryId: string): Promise<void> {
      await bringing.updateOne({ _id: key(tenantId, uid) }, { $pull: { deliveries: deliveryId } })
    },

    /** Whether a waiting webhook would bring `uid` into being. */
    async isBeingBrought(tenantId: string, uid: string): Promise<boolean> {
      const doc = await bringing.findOne({ _id: key(tenantId, uid) })
      return (doc?.deliveries.length ?? 0) > 0
    },

    /** The first look's time: now, if this is the first. */
    async firstLook(tenantId: string, deliveryId: string, now: Date): Promise<Date> {
      const _id = key(tenantId, deliveryId)
      try {
        await waits.insertOne({
          _id,
          tenantId,
          firstLookedAt: now.toISOString(),
          hour: bucketOf('hour', now.toISOString()),
        })
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

    /** Left-overs of one UTC hour (a webhook waits 15 minutes at most; a stopped one leaves its marks). */
    async pruneHour(hour: string): Promise<number> {
      const looks = await waits.deleteMany({ hour })
      const marks = await bringing.deleteMany({ hour })
      return looks.deletedCount + marks.deletedCount
    },

    /** Left-overs from before `before` written before records carried their hour (a range: a read of everything). */
    async pruneUnbucketed(before: Date): Promise<number> {
      const at = before.toISOString()
      const looks = await waits.deleteMany({ firstLookedAt: { $lt: at } })
      const marks = await bringing.deleteMany({ updatedAt: { $lt: at } })
      return looks.deletedCount + marks.deletedCount
    },
  }
}

export type WebhookWaits = ReturnType<typeof createWebhookWaits>
