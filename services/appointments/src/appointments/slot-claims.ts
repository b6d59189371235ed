import { MongoBulkWriteError } from 'mongodb'
import type { AppointmentsStore } from './appointments-store.ts'

export type ClaimResult = { ok: true } | { ok: false; holders: string[] }

const RETRIES = 4

/**
 * Slot exclusivity (I1): an appointment claims each minute it occupies by inserting a document
 * whose _id is (tenant, resource, minute). Inserts into a unique index are atomic on MongoDB and
 * FerretDB alike, unlike conditional updates. Minutes are inserted in ascending order, so two
 * overlapping claimants meet at their first shared minute and only one of them gets past it.
 */
export function createSlotClaims(store: AppointmentsStore) {
  const { claims } = store
  const key = (tenantId: string, resource: string, minute: string) => `${tenantId}|${resource}|${minute}`

  async function holdersOf(ids: string[], appointmentId: string): Promise<string[]> {
    const held = await claims.find({ _id: { $in: ids }, appointmentId: { $ne: appointmentId } }).toArray()
    return [...new Set(held.map((claim) => claim.appointmentId))]
  }

  async function release(ids: string[], appointmentId: string): Promise<void> {
    if (ids.length > 0) await claims.deleteMany({ _id: { $in: ids }, appointmentId })
  }

  return {
    key,

    /** All minutes or none. A conflict names the appointments holding the contested minutes. */
    async claim(
      tenantId: string,
      resource: string,
      minutes: string[],
      appointmentId: string,
      now: Date,
    ): Promise<ClaimResult> {
      const ids = minutes.map((minute) => key(tenantId, resource, minute))
      const documents = ids.map((_id) => ({ _id, tenantId, appointmentId, claimedAt: now.toISOString() }))
      for (let attempt = 0; ; attempt++) {
        try {
          if (documents.length > 0) await claims.insertMany(documents, { ordered: true })
          return { ok: true }
        } catch (error) {
          if (!(error instanceof MongoBulkWriteError) || error.code !== 11000) throw error
          await release(ids, appointmentId)
          const holders = await holdersOf(ids, appointmentId)
          // The holder may itself have just lost elsewhere and be rolling back: look again shortly.
          if (attempt >= RETRIES) return { ok: false, holders }
          if (holders.length > 0) await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20))
        }
      }
    },

    /** Claims what is free and reports who holds the rest (a Cal.com booking is kept either way, I2). */
    async claimFree(
      tenantId: string,
      resource: string,
      minutes: string[],
      appointmentId: string,
      now: Date,
    ): Promise<string[]> {
      const ids = minutes.map((minute) => key(tenantId, resource, minute))
      const documents = ids.map((_id) => ({ _id, tenantId, appointmentId, claimedAt: now.toISOString() }))
      try {
        if (documents.length > 0) await claims.insertMany(documents, { ordered: false })
      } catch (error) {
        if (!(error instanceof MongoBulkWriteError) || error.code !== 11000) throw error
      }
      return holdersOf(ids, appointmentId)
    },

    async release(tenantId: string, resource: string, minutes: string[], appointmentId: string): Promise<void> {
      await release(
        minutes.map((minute) => key(tenantId, resource, minute)),
        appointmentId,
      )
    },

    async releaseAll(appointmentId: string): Promise<void> {
      await claims.deleteMany({ appointmentId })
    },
  }
}

export type SlotClaims = ReturnType<typeof createSlotClaims>
