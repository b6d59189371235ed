import { isDuplicateKeyError } from '@calsync/service-kit'
import type { Db } from 'mongodb'

/** What calcom-sync knows of an appointment's Cal.com booking: the appointment ↔ booking mapping (I4). */
export interface MappingDoc {
  _id: string
  tenantId: string
  calcomBookingUid: string | null
  /** Every uid the booking had: a reschedule gives it a new one. */
  uidHistory: string[]
  /** The newest appointment version Cal.com reflects; older events are stale. */
  syncedVersion: number
  syncedStatus: 'booked' | 'cancelled' | null
  syncedStart: string | null
  /**
   * A call that may have reached Cal.com without us seeing the answer (timeout, dropped
   * connection, crash). The next attempt looks before it writes again.
   */
  inFlight: { kind: 'create' | 'reschedule' | 'cancel'; version: number; startedAt: string } | null
  updatedAt: string
}

/** Failed attempts per appointment event: retries are counted here, not by JetStream deliveries. */
export interface AttemptDoc {
  _id: string
  tenantId: string
  appointmentId: string
  failures: number
  updatedAt: string
}

interface LeaseDoc {
  _id: string
  owner: string
  expiresAt: string
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
      const found = await mappings.findOne({ _id: appointmentId, tenantId })
      return (
        found ?? {
          _id: appointmentId,
          tenantId,
          calcomBookingUid: null,
          uidHistory: [],
          syncedVersion: 0,
          syncedStatus: null,
          syncedStart: null,
          inFlight: null,
          updatedAt: new Date(0).toISOString(),
        }
      )
    },

    async saveMapping(mapping: MappingDoc): Promise<void> {
      const { _id, ...fields } = mapping
      await mappings.updateOne({ _id }, { $set: fields }, { upsert: true })
    },

    async failures(eventId: string): Promise<number> {
      return (await attempts.findOne({ _id: eventId }))?.failures ?? 0
    },

    async recordFailure(eventId: string, tenantId: string, appointmentId: string, failures: number): Promise<void> {
      await attempts.updateOne(
        { _id: eventId },
        { $set: { tenantId, appointmentId, failures, updatedAt: new Date().toISOString() } },
        { upsert: true },
      )
    },

    /** Forgets the failures of an appointment's events, so a re-drive starts with fresh attempts. */
    async resetFailures(appointmentId: string): Promise<void> {
      await attempts.deleteMany({ appointmentId })
    },

    /**
     * One worker at a time per appointment, across instances: a lease taken by unique insert.
     * An expired lease (its holder died) is taken over.
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

    async releaseLease(appointmentId: string, owner: string): Promise<void> {
      await leases.deleteOne({ _id: appointmentId, owner })
    },
  }
}

export type SyncStore = ReturnType<typeof createSyncStore>
