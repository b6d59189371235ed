import type { Db } from 'mongodb'
import type { SilenceReason } from './webhook-silence.ts'

/** A tenant's reconciler state: one document per tenant, by `_id` (the only lookup FerretDB pushes down). */
export interface ReconcileStateDoc {
  _id: string
  /** Cal.com changes before this instant (less the overlap) were compared by an earlier pass. */
  watermark: string
  lastPassAt: string
  /** Missed Cal.com changes the last passes found (what webhooks should have told), newest last. */
  recentMissed: number[]
  /** The tenant's webhooks are flagged silent (webhook-silence.ts) since then, for that reason. */
  silence: { reason: SilenceReason; since: string; lastHeard: string | null } | null
}

const RECENT_PASSES = 5

export function createReconcileStore(db: Db) {
  const states = db.collection<ReconcileStateDoc>('reconcile_state')
  return {
    async state(tenantId: string): Promise<ReconcileStateDoc | undefined> {
      return (await states.findOne({ _id: tenantId })) ?? undefined
    },

    /** After a finished pass. A watermark never goes back: passes of two instances may end in any order. */
    async passed(
      tenantId: string,
      pass: { startedAt: string; missed: number; silence: ReconcileStateDoc['silence'] },
    ): Promise<void> {
      const previous = await states.findOne({ _id: tenantId })
      const watermark =
        previous && Date.parse(previous.watermark) > Date.parse(pass.startedAt) ? previous.watermark : pass.startedAt
      await states.replaceOne(
        { _id: tenantId },
        {
          watermark,
          lastPassAt: new Date().toISOString(),
          recentMissed: [...(previous?.recentMissed ?? []), pass.missed].slice(-RECENT_PASSES),
          silence: pass.silence,
        },
        { upsert: true },
      )
    },
  }
}

export type ReconcileStore = ReturnType<typeof createReconcileStore>
