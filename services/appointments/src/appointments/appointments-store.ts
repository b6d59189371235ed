import type { AppointmentEventType, AppointmentStatus } from '@calsync/contracts'
import { isDuplicateKeyError } from '@calsync/service-kit'
import type { Db, Filter } from 'mongodb'
import type { AppointmentSnapshot, Initiator, SyncState } from './appointment.ts'

/** The current state of an appointment: a projection of its newest event. */
export type AppointmentDoc = AppointmentSnapshot & { _id: string; initiatedBy: Initiator; lastEventId: string }

/** One change: inserted once per (appointment, version) — the concurrency check and the outbox entry. */
export interface EventDoc {
  _id: string
  type: AppointmentEventType
  tenantId: string
  appointmentId: string
  version: number
  origin: AppointmentSnapshot['origin']
  occurredAt: string
  snapshot: AppointmentSnapshot
  initiatedBy: Initiator
  published: boolean
  publishedAt: string | null
  /** W3C trace context of the request that made the change, so the relay's publish joins its trace. */
  trace: Record<string, string>
}

export function snapshotOfDoc(doc: AppointmentDoc): AppointmentSnapshot {
  const { _id: _unused, initiatedBy: _by, lastEventId: _last, ...snapshot } = doc
  return snapshot
}

export type SyncStateDoc = SyncState & { _id: string; tenantId: string; updatedAt: string }

/**
 * A double booking (I2) found for one version of an appointment. Kept apart from `sync_states`
 * and only ever inserted: FerretDB rewrites a whole document on update, so a `conflict` status set
 * there could be overwritten by a sync result written at the same moment. A later change of the
 * appointment (a new version) is the operator's answer and ends the conflict.
 */
export interface ConflictDoc {
  /** `<appointmentId>:v<version>` */
  _id: string
  tenantId: string
  appointmentId: string
  version: number
  /** The other appointments of the double booking. */
  with: string[]
  flaggedAt: string
}

const conflictKey = (appointmentId: string, version: number) => `${appointmentId}:v${version}`

/** The sync state as everyone reads it: a conflict of its version wins over what sync results said. */
function withConflict(state: SyncStateDoc, conflict: ConflictDoc | undefined): SyncStateDoc {
  if (!conflict) return state
  return {
    ...state,
    status: 'conflict',
    requiresManualReview: true,
    flaggedAt: state.status === 'conflict' && state.flaggedAt ? state.flaggedAt : conflict.flaggedAt,
  }
}

/** A Cal.com booking uid known to belong to an appointment (the uid chain of reschedules included). */
export interface LinkDoc {
  _id: string
  tenantId: string
  uid: string
  appointmentId: string
  linkedAt: string
}

export interface ClaimDoc {
  _id: string
  tenantId: string
  appointmentId: string
  claimedAt: string
}

export interface IdempotencyDoc {
  _id: string
  tenantId: string
  fingerprint: string
  state: 'pending' | 'done'
  statusCode: number | null
  body: unknown
  createdAt: string
}

export interface ListQuery {
  from?: string | undefined
  to?: string | undefined
  status?: AppointmentStatus | undefined
  after?: { start: string; id: string } | undefined
  limit: number
}

/** Every method is scoped by tenant: no read or write crosses tenants (I6). */
export function createAppointmentsStore(db: Db) {
  const appointments = db.collection<AppointmentDoc>('appointments')
  const events = db.collection<EventDoc>('appointment_events')
  const syncStates = db.collection<SyncStateDoc>('sync_states')
  const links = db.collection<LinkDoc>('calcom_links')
  const claims = db.collection<ClaimDoc>('slot_claims')
  const idempotency = db.collection<IdempotencyDoc>('idempotency_keys')
  const conflicts = db.collection<ConflictDoc>('sync_conflicts')

  async function conflictsOf(states: SyncStateDoc[]): Promise<Map<string, ConflictDoc>> {
    if (states.length === 0) return new Map()
    const found = await conflicts
      .find({ _id: { $in: states.map((state) => conflictKey(state._id, state.version)) } })
      .toArray()
    return new Map(found.map((conflict) => [conflict.appointmentId, conflict]))
  }

  const linkKey = (tenantId: string, uid: string) => `${tenantId}|${uid}`

  return {
    appointments,
    events,
    syncStates,
    links,
    claims,
    idempotency,
    conflicts,

    async ensureIndexes(): Promise<void> {
      await appointments.createIndex({ tenantId: 1, start: 1, _id: 1 })
      await events.createIndex({ published: 1, occurredAt: 1 })
      await events.createIndex({ appointmentId: 1, version: 1 })
      await links.createIndex({ appointmentId: 1, linkedAt: -1 })
      await claims.createIndex({ appointmentId: 1 })
      await claims.createIndex({ claimedAt: 1 })
      await conflicts.createIndex({ tenantId: 1, flaggedAt: 1 })
    },

    async find(tenantId: string, id: string): Promise<AppointmentDoc | undefined> {
      return (await appointments.findOne({ _id: id, tenantId })) ?? undefined
    },

    async findByBookingUid(tenantId: string, uid: string): Promise<AppointmentDoc | undefined> {
      const link = await links.findOne({ _id: linkKey(tenantId, uid) })
      return link ? this.find(tenantId, link.appointmentId) : undefined
    },

    async list(tenantId: string, query: ListQuery): Promise<AppointmentDoc[]> {
      const filter: Filter<AppointmentDoc> = { tenantId }
      const start: Record<string, string> = {}
      if (query.from) start.$gte = query.from
      if (query.to) start.$lt = query.to
      if (Object.keys(start).length > 0) filter.start = start
      if (query.status) filter.status = query.status
      if (query.after) {
        filter.$or = [{ start: { $gt: query.after.start } }, { start: query.after.start, _id: { $gt: query.after.id } }]
      }
      return appointments.find(filter).sort({ start: 1, _id: 1 }).limit(query.limit).toArray()
    },

    async syncState(tenantId: string, id: string): Promise<SyncStateDoc | undefined> {
      const state = await syncStates.findOne({ _id: id, tenantId })
      if (!state) return undefined
      return withConflict(state, (await conflictsOf([state])).get(id))
    },

    async syncStatesOf(tenantId: string, ids: string[]): Promise<Map<string, SyncStateDoc>> {
      const found = await syncStates.find({ tenantId, _id: { $in: ids } }).toArray()
      const marked = await conflictsOf(found)
      return new Map(found.map((state) => [state._id, withConflict(state, marked.get(state._id))]))
    },

    /** Of these sync states, the ids whose current version is in a double booking. */
    async conflictedIds(states: SyncStateDoc[]): Promise<Set<string>> {
      return new Set((await conflictsOf(states)).keys())
    },

    /** Marks each appointment's current version as part of one double booking; repeats change nothing. */
    async markConflict(tenantId: string, appointmentIds: string[], now: Date): Promise<void> {
      const states = await syncStates.find({ tenantId, _id: { $in: appointmentIds } }).toArray()
      for (const state of states) {
        try {
          await conflicts.insertOne({
            _id: conflictKey(state._id, state.version),
            tenantId,
            appointmentId: state._id,
            version: state.version,
            with: appointmentIds.filter((id) => id !== state._id),
            flaggedAt: now.toISOString(),
          })
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error
        }
      }
    },

    /** Records that a Cal.com booking uid belongs to an appointment; true if it was new. */
    async link(tenantId: string, uid: string, appointmentId: string, now: Date): Promise<boolean> {
      try {
        await links.insertOne({
          _id: linkKey(tenantId, uid),
          tenantId,
          uid,
          appointmentId,
          linkedAt: now.toISOString(),
        })
        return true
      } catch (error) {
        if (isDuplicateKeyError(error)) return false
        throw error
      }
    },

    /** The newest uid linked to an appointment: the end of its reschedule chain. */
    async currentBookingUid(tenantId: string, appointmentId: string): Promise<string | undefined> {
      const [newest] = await links.find({ tenantId, appointmentId }).sort({ linkedAt: -1, _id: -1 }).limit(1).toArray()
      return newest?.uid
    },

    async isLinked(tenantId: string, uid: string): Promise<boolean> {
      return (await links.countDocuments({ _id: linkKey(tenantId, uid) }, { limit: 1 })) > 0
    },
  }
}

export type AppointmentsStore = ReturnType<typeof createAppointmentsStore>
