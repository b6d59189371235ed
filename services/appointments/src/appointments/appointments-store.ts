import type { AppointmentEventType, AppointmentStatus, SyncStatus } from '@calsync/contracts'
import { isDuplicateKeyError } from '@calsync/service-kit'
import type { Db, Filter } from 'mongodb'
import type { ChainFact } from '../sync/booking-chain.ts'
import type { SyncDoc } from '../sync/sync-state.ts'
import type { AppointmentSnapshot, Initiator } from './appointment.ts'
import { createAppointmentDays, windowDays } from './appointment-days.ts'

/** The current state of an appointment: a projection of its newest event. */
export type AppointmentDoc = AppointmentSnapshot & { _id: string; initiatedBy: Initiator; lastEventId: string }

/** One change: inserted once per (appointment, version) — the concurrency check and the history. */
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
  /** W3C trace context of the request that made the change, so the relay's publish joins its trace. */
  trace: Record<string, string>
  /** The operation that wrote it: the claims it made carry the same nonce. */
  op?: string
  /** What this version tells about the Cal.com booking chain (a customer's hop or cancel). */
  chainFacts?: ChainFact[]
  /** A re-drive that must be checked against Cal.com (AppointmentEvent `verify`). */
  verify?: boolean
}

export function snapshotOfDoc(doc: AppointmentDoc): AppointmentSnapshot {
  const { _id: _unused, initiatedBy: _by, lastEventId: _last, ...snapshot } = doc
  return snapshot
}

/**
 * A double booking (I2) of one version of an appointment with one other appointment. Only ever
 * inserted, under `<appointmentId>:v<version>:c<n>` with n = 1, 2, …: FerretDB finds documents
 * fast only by `_id`, so the partners of a version are read by probing n upwards.
 */
export interface ConflictDoc {
  _id: string
  tenantId: string
  appointmentId: string
  version: number
  partner: string
  flaggedAt: string
}

/** A Cal.com booking uid known to belong to an appointment: how a webhook finds its appointment. */
export interface LinkDoc {
  _id: string
  tenantId: string
  uid: string
  appointmentId: string
  linkedAt: string
}

export interface ClaimDoc {
  /** `<tenant>|<resource>|<YYYY-MM-DDTHH:MM>` */
  _id: string
  tenantId: string
  appointmentId: string
  /** The appointment version that needed the minute when it was claimed or handed over. */
  version: number
  /** The operation that inserted it (a nonce), or `handoff:…` for a minute handed over by a partner. */
  op: string
  /** `YYYY-MM-DD` of the minute, so claims of days gone by can be pruned by equality. */
  day: string
  claimedAt: string
}

/**
 * A change of one appointment between its first claim and its last follow-up step. At most one
 * per appointment (changes hold the appointment's lock), so a crash leaves it for the next
 * holder of the lock or the sweeper to finish or undo.
 */
export interface PendingOpDoc {
  _id: string
  tenantId: string
  nonce: string
  /** The version the operation writes. */
  version: number
  resource: string
  /** Minutes it claimed (inserted with its nonce): what an undo frees. */
  claimed: string[]
  /** Conflict marks it made before its event: an undo removes them too. */
  conflictIds: string[]
  startedAt: string
}

export interface LockDoc {
  _id: string
  owner: string
  acquiredAt: string
  expiresAt: string
}

export interface OutboxDoc extends EventDoc {}

export interface IdempotencyDoc {
  _id: string
  tenantId: string
  fingerprint: string
  state: 'pending' | 'done'
  statusCode: number | null
  body: unknown
  createdAt: string
  /** The UTC hour of `createdAt`, which retention deletes by (absent on answers older than it). */
  hour?: string
}

/** Bookkeeping of the store itself: which one-off passes are done, how far retention got. */
export interface MarkerDoc {
  _id: string
  [field: string]: unknown
}

export interface ListQuery {
  from?: string | undefined
  to?: string | undefined
  status?: AppointmentStatus | undefined
  after?: { start: string; id: string } | undefined
  limit: number
}

/** The sync state as the API shows it: a double booking of its version shows as `conflict`. */
export type SyncStateDoc = Omit<SyncDoc, 'status'> & { status: SyncStatus; conflict: boolean }

export const MAX_CONFLICTS_PER_VERSION = 8
export const conflictId = (appointmentId: string, version: number, n: number) => `${appointmentId}:v${version}:c${n}`
export const eventIdOf = (appointmentId: string, version: number) => `${appointmentId}:v${version}`

/**
 * Every read a change makes is by `_id` alone: the only filter FerretDB's SQLite backend pushes
 * down (any other filter reads the whole collection). Tenants are checked on the document read.
 */
export function createAppointmentsStore(db: Db) {
  const appointments = db.collection<AppointmentDoc>('appointments')
  const events = db.collection<EventDoc>('appointment_events')
  const outbox = db.collection<OutboxDoc>('outbox')
  const syncStates = db.collection<SyncDoc>('sync_states')
  const links = db.collection<LinkDoc>('calcom_links')
  const claims = db.collection<ClaimDoc>('slot_claims')
  const pendingOps = db.collection<PendingOpDoc>('pending_ops')
  const locks = db.collection<LockDoc>('appointment_locks')
  const idempotency = db.collection<IdempotencyDoc>('idempotency_keys')
  const conflicts = db.collection<ConflictDoc>('sync_conflicts')
  const markers = db.collection<MarkerDoc>('store_markers')
  const days = createAppointmentDays(db, markers)

  const linkKey = (tenantId: string, uid: string) => `${tenantId}|${uid}`
  const owned = <T extends { tenantId: string }>(tenantId: string, doc: T | null) =>
    doc && doc.tenantId === tenantId ? doc : undefined

  async function partnersOf(appointmentId: string, version: number): Promise<ConflictDoc[]> {
    const found: ConflictDoc[] = []
    for (let n = 1; n <= MAX_CONFLICTS_PER_VERSION; n++) {
      const doc = await conflicts.findOne({ _id: conflictId(appointmentId, version, n) })
      if (!doc) break
      found.push(doc)
    }
    return found
  }

  return {
    appointments,
    events,
    outbox,
    syncStates,
    links,
    claims,
    pendingOps,
    locks,
    idempotency,
    conflicts,
    days,
    markers,

    async ensureIndexes(): Promise<void> {
      // For MongoDB; FerretDB's SQLite backend uses only `_id`, which every hot read is by.
      await appointments.createIndex({ tenantId: 1, start: 1, _id: 1 })
      await syncStates.createIndex({ status: 1, changedAt: 1 })
      await conflicts.createIndex({ tenantId: 1, flaggedAt: 1 })
      await claims.createIndex({ day: 1 })
    },

    async find(tenantId: string, id: string): Promise<AppointmentDoc | undefined> {
      return owned(tenantId, await appointments.findOne({ _id: id }))
    },

    /**
     * The newest written state, even while a stopped writer's projection is still to be finished:
     * the projection, then any newer event after it.
     */
    async current(tenantId: string, id: string): Promise<AppointmentDoc | undefined> {
      let doc = owned(tenantId, await appointments.findOne({ _id: id }))
      for (let version = (doc?.version ?? 0) + 1; ; version++) {
        const event = owned(tenantId, await events.findOne({ _id: eventIdOf(id, version) }))
        if (!event) return doc
        doc = { ...event.snapshot, _id: id, initiatedBy: event.initiatedBy, lastEventId: event._id }
      }
    },

    async event(appointmentId: string, version: number): Promise<EventDoc | undefined> {
      return (await events.findOne({ _id: eventIdOf(appointmentId, version) })) ?? undefined
    },

    /** The appointment a Cal.com booking uid belongs to, if calsync knows the uid. */
    async linkedAppointmentId(tenantId: string, uid: string): Promise<string | undefined> {
      return owned(tenantId, await links.findOne({ _id: linkKey(tenantId, uid) }))?.appointmentId
    },

    /** Records that a uid belongs to an appointment; answers whom it belongs to (first writer wins). */
    async link(tenantId: string, uid: string, appointmentId: string, now: Date): Promise<string> {
      try {
        await links.insertOne({
          _id: linkKey(tenantId, uid),
          tenantId,
          uid,
          appointmentId,
          linkedAt: now.toISOString(),
        })
        return appointmentId
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error
        return (await links.findOne({ _id: linkKey(tenantId, uid) }))?.appointmentId ?? appointmentId
      }
    },

    async list(tenantId: string, query: ListQuery): Promise<AppointmentDoc[]> {
      const wanted = query.from && query.to && days.ready() ? windowDays(query.from, query.to) : undefined
      if (wanted) {
        const ids = await days.idsOn(tenantId, wanted)
        const found: AppointmentDoc[] = []
        for (let at = 0; at < ids.length; at += 200) {
          found.push(...(await appointments.find({ _id: { $in: ids.slice(at, at + 200) } }).toArray()))
        }
        return pageOf(found, tenantId, query)
      }
      // A window with no end or longer than the days serve (an export): read by start.
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

    async syncDoc(appointmentId: string): Promise<SyncDoc | undefined> {
      return (await syncStates.findOne({ _id: appointmentId })) ?? undefined
    },

    /** The sync state as everyone reads it: a double booking of its version shows as `conflict`. */
    async syncState(tenantId: string, id: string): Promise<SyncStateDoc | undefined> {
      const state = owned(tenantId, await syncStates.findOne({ _id: id }))
      if (!state) return undefined
      const conflict = Boolean(await conflicts.findOne({ _id: conflictId(id, state.version, 1) }))
      return conflict
        ? {
            ...state,
            status: 'conflict',
            requiresManualReview: true,
            conflict,
            flaggedAt: state.flaggedAt ?? state.updatedAt,
          }
        : { ...state, conflict }
    },

    async syncStatesOf(tenantId: string, ids: string[]): Promise<Map<string, SyncStateDoc>> {
      const found = await Promise.all(ids.map((id) => this.syncState(tenantId, id)))
      return new Map(found.flatMap((state) => (state ? [[state._id, state] as const] : [])))
    },

    partnersOf,

    /** Of these sync states, the ids whose current version is in a double booking. */
    async conflictedIds(states: SyncDoc[]): Promise<Set<string>> {
      const marked = await Promise.all(
        states.map(async (state) =>
          (await conflicts.findOne({ _id: conflictId(state._id, state.version, 1) })) ? state._id : '',
        ),
      )
      return new Set(marked.filter(Boolean))
    },
  }
}

export type AppointmentsStore = ReturnType<typeof createAppointmentsStore>

/** Strings in the order the database sorts them (by code unit, not by locale). */
const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/**
 * One page of a window from the appointments its days name: those of the tenant whose own start
 * is in [from, to) (an id stays in a day it moved away from) and status matches, after the
 * cursor, ordered by start then id as the database sorts them.
 */
export function pageOf(found: AppointmentDoc[], tenantId: string, query: ListQuery): AppointmentDoc[] {
  const { from, to, status, after } = query
  return found
    .filter(
      (doc) =>
        doc.tenantId === tenantId &&
        (!from || doc.start >= from) &&
        (!to || doc.start < to) &&
        (!status || doc.status === status) &&
        (!after || doc.start > after.start || (doc.start === after.start && doc._id > after.id)),
    )
    .sort((a, b) => byCodeUnits(a.start, b.start) || byCodeUnits(a._id, b._id))
    .slice(0, query.limit)
}
