import type { SyncResult } from '@calsync/contracts'
import { isDuplicateKeyError } from '@calsync/service-kit'
import type { Db } from 'mongodb'
import type { BookingStep, InFlightCall } from './booking-plan.ts'

/** What calcom-sync knows of an appointment's Cal.com booking (I4). Written only under the lease, conditionally. */
export interface MappingDoc {
  _id: string
  tenantId: string
  /** Bumped by every write: a write names the revision it read and loses if another came first. */
  rev: number
  calcomBookingUid: string | null
  /** Every uid the appointment's bookings had (reschedules make new ones), ours or learnt. */
  uidHistory: string[]
  /** The newest event seen, as [version, re-drive]: anything older is superseded, never pushed. */
  seen: [number, number]
  /** The newest appointment version Cal.com reflects. */
  syncedVersion: number
  syncedStatus: 'booked' | 'cancelled' | null
  syncedStart: string | null
  /** What calsync itself did on Cal.com, oldest first: attribution of what a look-up finds. */
  steps: BookingStep[]
  /** A call that may have reached Cal.com without us seeing the answer: the next attempt looks first. */
  inFlight: (InFlightCall & { startedAt: string }) | null
  /** The result published for the synced version, re-published as is when its publish may have been lost. */
  lastResult: { msgId: string; body: Extract<SyncResult, { type: 'sync.succeeded' }> } | null
  updatedAt: string
}

/** Attempts per appointment event: retries are counted here, not by JetStream deliveries. */
export interface AttemptDoc {
  _id: string
  tenantId: string
  appointmentId: string
  failures: number
  /** Set once the event failed for good: a redelivery re-publishes the failure, no new attempt. */
  terminal: { code: string; message: string; attempt: number } | null
  updatedAt: string
}

interface LeaseDoc {
  _id: string
  owner: string
  expiresAt: string
}

/** A conditional mapping write lost: someone wrote since it was read. */
export class MappingConflictError extends Error {
  override name = 'MappingConflictError'
}

export function emptyMapping(tenantId: string, appointmentId: string): MappingDoc {
  return {
    _id: appointmentId,
    tenantId,
    rev: 0,
    calcomBookingUid: null,
    uidHistory: [],
    seen: [0, 0],
    syncedVersion: 0,
    syncedStatus: null,
    syncedStart: null,
    steps: [],
    inFlight: null,
    lastResult: null,
    updatedAt: new Date(0).toISOString(),
  }
}

export function createSyncStore(db: Db) {
  const mappings = db.collection<MappingDoc>('booking_mappings')
  const attempts = db.collection<AttemptDoc>('sync_attempts')
  const leases = db.collection<LeaseDoc>('appointment_leases')

  return {
    mappings,
    attempts,

    async ensureIndexes(): Promise<void> {
      await mappings.createIndex({ tenantId: 1, calcomBookingUid: 1 })
    },

    async mapping(tenantId: string, appointmentId: string): Promise<MappingDoc> {
      // By _id alone (the one filter every MongoDB-wire database serves from its key); the tenant
      // is checked here so one tenant's event never reads another's mapping.
      const found = await mappings.findOne({ _id: appointmentId })
      if (found && found.tenantId !== tenantId) {
        throw new Error(`appointment ${appointmentId} belongs to another tenant`)
      }
      return found ? { ...emptyMapping(tenantId, appointmentId), ...found } : emptyMapping(tenantId, appointmentId)
    },

    /** Writes `next` if the stored revision is still `next.rev`; answers the written document (rev + 1). */
    async saveMapping(next: MappingDoc): Promise<MappingDoc> {
      const written = { ...next, rev: next.rev + 1, updatedAt: new Date().toISOString() }
      if (next.rev === 0) {
        try {
          await mappings.insertOne(written)
          return written
        } catch (error) {
          if (isDuplicateKeyError(error)) throw new MappingConflictError(`mapping ${next._id} was created meanwhile`)
          throw error
        }
      }
      const { _id, ...fields } = written
      const result = await mappings.updateOne({ _id, rev: next.rev }, { $set: fields })
      if (result.matchedCount !== 1)
        throw new MappingConflictError(`mapping ${next._id} changed since revision ${next.rev}`)
      return written
    },

    async attempt(eventId: string): Promise<AttemptDoc | null> {
      return attempts.findOne({ _id: eventId })
    },

    async recordFailure(
      eventId: string,
      tenantId: string,
      appointmentId: string,
      failures: number,
      terminal: AttemptDoc['terminal'],
    ): Promise<void> {
      await attempts.updateOne(
        { _id: eventId },
        { $set: { tenantId, appointmentId, failures, terminal, updatedAt: new Date().toISOString() } },
        { upsert: true },
      )
    },

    /**
     * One worker at a time per appointment, across instances: a lease taken by unique insert,
     * renewed while its sync runs. An expired lease (its holder died) is taken over.
     */
    async acquireLease(appointmentId: string, owner: string, ttlMs: number): Promise<boolean> {
      const now = Date.now()
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await leases.insertOne({ _id: appointmentId, owner, expiresAt: new Date(now + ttlMs).toISOString() })
          return true
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error
          const held = await leases.findOne({ _id: appointmentId })
          if (held && Date.parse(held.expiresAt) > now) return false
          await leases.deleteOne({ _id: appointmentId, expiresAt: held?.expiresAt ?? '' })
        }
      }
      return false
    },

    /** False when the lease is no longer ours (it expired and another worker took it). */
    async renewLease(appointmentId: string, owner: string, ttlMs: number): Promise<boolean> {
      const result = await leases.updateOne(
        { _id: appointmentId, owner },
        { $set: { expiresAt: new Date(Date.now() + ttlMs).toISOString() } },
      )
      return result.matchedCount === 1
    },

    async releaseLease(appointmentId: string, owner: string): Promise<void> {
      await leases.deleteOne({ _id: appointmentId, owner })
    },
  }
}

export type SyncStore = ReturnType<typeof createSyncStore>
