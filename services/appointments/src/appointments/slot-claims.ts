import { MongoBulkWriteError } from 'mongodb'
import type { AppointmentsStore, ClaimDoc } from './appointments-store.ts'

export type ClaimResult = { ok: true; claimed: string[] } | { ok: false; holders: string[] }

export interface Claimant {
  tenantId: string
  resource: string
  appointmentId: string
  /** The version the minutes are claimed for. */
  version: number
  /** The operation's nonce: only it may undo these claims. */
  op: string
}

const RETRIES = 8

/**
 * Indexes of the documents an insertMany refused as duplicates (code 11000); undefined for any
 * other failure — also a bulk write cut off by the connection, which names no document: none of
 * its minutes can be taken as ours (the caller's pending operation undoes whatever went in).
 */
export function duplicateIndexes(error: unknown): number[] | undefined {
  if (!(error instanceof MongoBulkWriteError)) return undefined
  const errors = (Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors]).filter(Boolean)
  if (errors.length === 0 || errors.some((writeError) => writeError.code !== 11000)) return undefined
  return errors.map((writeError) => writeError.index)
}

/**
 * Slot exclusivity (I1): an appointment claims each minute it occupies by inserting a document
 * whose _id is (tenant, resource, minute) — an insert into a unique index is atomic on MongoDB
 * and FerretDB alike. Each claim records the operation that made it, so an operation only ever
 * undoes its own claims, and the version that needed it. Reads and deletes go by `_id` alone.
 */
export function createSlotClaims(store: AppointmentsStore) {
  const { claims } = store
  const key = (tenantId: string, resource: string, minute: string) => `${tenantId}|${resource}|${minute}`

  function documents(claimant: Claimant, minutes: string[], now: Date): ClaimDoc[] {
    return minutes.map((minute) => ({
      _id: key(claimant.tenantId, claimant.resource, minute),
      tenantId: claimant.tenantId,
      appointmentId: claimant.appointmentId,
      version: claimant.version,
      op: claimant.op,
      day: minute.slice(0, 10),
      claimedAt: now.toISOString(),
    }))
  }

  async function read(ids: string[]): Promise<(ClaimDoc | null)[]> {
    return Promise.all(ids.map((_id) => claims.findOne({ _id })))
  }

  async function deleteIds(ids: string[]): Promise<void> {
    if (ids.length === 0) return
    await claims.bulkWrite(
      ids.map((_id) => ({ deleteOne: { filter: { _id } } })),
      { ordered: false },
    )
  }

  /**
   * Inserts what is free. Of the refused minutes, the claimant's own leftovers (its appointment's,
   * from an older version, no longer needed — the caller holds the appointment's lock, so nothing
   * else is using them) are freed and tried again; the rest are held by other appointments.
   */
  async function insertFree(claimant: Claimant, minutes: string[], now: Date, own: 'free' | 'keep') {
    let pending = minutes
    const taken: string[] = []
    let held: ClaimDoc[] = []
    for (let round = 0; pending.length > 0 && round < 2; round++) {
      const docs = documents(claimant, pending, now)
      let refused: number[] = []
      try {
        await claims.insertMany(docs, { ordered: false })
      } catch (error) {
        const indexes = duplicateIndexes(error)
        if (!indexes) throw error
        refused = indexes
      }
      const refusedSet = new Set(refused)
      taken.push(...pending.filter((_, index) => !refusedSet.has(index)))
      const refusedMinutes = pending.filter((_, index) => refusedSet.has(index))
      const holders = await read(refusedMinutes.map((minute) => key(claimant.tenantId, claimant.resource, minute)))
      const ownDocs = holders.filter((doc): doc is ClaimDoc => doc?.appointmentId === claimant.appointmentId)
      if (own === 'keep') taken.push(...ownDocs.map((doc) => doc._id.slice(doc._id.lastIndexOf('|') + 1)))
      const leftovers = own === 'free' ? ownDocs.filter((doc) => doc.op !== claimant.op) : []
      await deleteIds(leftovers.map((doc) => doc._id))
      const leftoverIds = new Set(leftovers.map((doc) => doc._id))
      held = holders.filter((doc): doc is ClaimDoc => doc !== null && doc.appointmentId !== claimant.appointmentId)
      // A minute freed between the insert and the read is simply tried again.
      pending = refusedMinutes.filter(
        (_, index) => holders[index] === null || leftoverIds.has(holders[index]?._id ?? ''),
      )
    }
    return { taken, held }
  }

  return {
    key,

    /**
     * All minutes or none (local channels). Minutes are inserted in ascending order, so two
     * overlapping claimants meet at their first shared minute and only one gets past it; the other
     * waits while the holder's operation is still deciding, then undoes its own claims and names
     * the holder.
     */
    async claim(claimant: Claimant, minutes: string[], now: Date): Promise<ClaimResult> {
      const taken: string[] = []
      let remaining = minutes
      for (let attempt = 0; remaining.length > 0; ) {
        const docs = documents(claimant, remaining, now)
        let blockedAt: number
        try {
          await claims.insertMany(docs, { ordered: true })
          taken.push(...remaining)
          break
        } catch (error) {
          const indexes = duplicateIndexes(error)
          if (!indexes) throw error
          blockedAt = Math.min(...indexes)
        }
        taken.push(...remaining.slice(0, blockedAt))
        remaining = remaining.slice(blockedAt)
        const [holder] = await read([docs[blockedAt]?._id ?? ''])
        if (!holder) continue
        if (holder.appointmentId === claimant.appointmentId) {
          // Our appointment's own leftover from an older version (we hold its lock): free it.
          if (holder.op === claimant.op) taken.push(remaining.shift() ?? '')
          else await deleteIds([holder._id])
          continue
        }
        if (attempt++ < RETRIES && (await this.anyInFlight([holder]))) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(10 * 2 ** attempt, 200) * (0.5 + Math.random())))
          continue
        }
        await this.undo(claimant, taken)
        return { ok: false, holders: [holder.appointmentId] }
      }
      return { ok: true, claimed: taken }
    },

    /**
     * Claims what is free and names who holds the rest (a Cal.com booking is kept either way, I2).
     * `own: 'keep'` when looking again at minutes the appointment already needs (a redelivery).
     */
    async claimFree(
      claimant: Claimant,
      minutes: string[],
      now: Date,
      own: 'free' | 'keep' = 'free',
    ): Promise<{ claimed: string[]; holders: string[] }> {
      const { taken, held } = await insertFree(claimant, minutes, now, own)
      return { claimed: taken, holders: [...new Set(held.map((doc) => doc.appointmentId))] }
    },

    /** Whether any of these claims belongs to an operation that has not written its event yet. */
    async anyInFlight(held: ClaimDoc[]): Promise<boolean> {
      const ops = await Promise.all(
        [...new Set(held.map((doc) => doc.appointmentId))].map((id) => store.pendingOps.findOne({ _id: id })),
      )
      return held.some((doc) => ops.some((op) => op?._id === doc.appointmentId && op.nonce === doc.op))
    },

    /** Undoes an operation's own claims: a minute someone else holds by now is left alone. */
    async undo(claimant: Pick<Claimant, 'tenantId' | 'resource' | 'op'>, minutes: string[]): Promise<void> {
      const ids = minutes.map((minute) => key(claimant.tenantId, claimant.resource, minute))
      const docs = await read(ids)
      await deleteIds(docs.filter((doc): doc is ClaimDoc => doc?.op === claimant.op).map((doc) => doc._id))
    },

    read,
    deleteIds,

    /** Hands a minute over to another appointment without freeing it in between. */
    async handOver(doc: ClaimDoc, to: { appointmentId: string; version: number }, op: string, now: Date) {
      await claims.replaceOne(
        { _id: doc._id },
        { ...doc, appointmentId: to.appointmentId, version: to.version, op, claimedAt: now.toISOString() },
      )
    },
  }
}

export type SlotClaims = ReturnType<typeof createSlotClaims>
