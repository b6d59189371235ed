import type { ResyncReply, ResyncRequest, SyncStatsReply, SyncStatsRequest } from '@calsync/contracts'
import { isDuplicateKeyError } from '@calsync/service-kit'
import type { Filter } from 'mongodb'
import { toIso } from '../appointments/appointment.ts'
import type { AppointmentLocks } from '../appointments/appointment-lock.ts'
import { type AppointmentsStore, type EventDoc, snapshotOfDoc } from '../appointments/appointments-store.ts'
import type { ChangeWriter } from '../appointments/change-writer.ts'
import { type SyncDoc, stateForRedrive } from '../sync/sync-state.ts'

const MAX_MATCHES = 1000

/**
 * Re-drives the sync of appointments with their current state: a `sync_requested` event for the
 * current version under a new id `<id>:v<version>:r<n>` (so calcom-sync counts fresh attempts and
 * results of older drives stay history) and a sync state back to `pending`. Nothing about the
 * appointment itself changes. Each runs under the appointment's lock, like every sync-state write.
 */
export function createResync(deps: {
  store: AppointmentsStore
  locks: AppointmentLocks
  writer: ChangeWriter
  onEvent: () => void
  clock?: () => Date
}) {
  const { store } = deps
  const clock = deps.clock ?? (() => new Date())

  async function redrive(state: SyncDoc, requestedBy: string, verify: boolean, now: Date): Promise<boolean> {
    return deps.locks.withLock(state._id, { waitMs: 5000 }, async (lock) => {
      await deps.writer.recover(lock)
      const doc = await store.find(state.tenantId, state._id)
      const sync = await store.syncDoc(state._id)
      if (!doc || !sync) return false
      const snapshot = snapshotOfDoc(doc)
      const eventId = `${doc._id}:v${doc.version}:r${sync.drives + 1}`
      const event: EventDoc = {
        _id: eventId,
        type: 'appointment.sync_requested',
        tenantId: doc.tenantId,
        appointmentId: doc._id,
        version: doc.version,
        origin: snapshot.origin,
        occurredAt: toIso(now),
        snapshot: { ...snapshot, calcomBookingUid: sync.calcomBookingUid ?? snapshot.calcomBookingUid },
        initiatedBy: { origin: 'system', via: `redrive:${requestedBy}` },
        trace: {},
        ...(verify ? { verify: true } : {}),
      }
      // The outbox entry first: it is what reaches calcom-sync; the history and the state follow.
      for (const collection of [store.outbox, store.events]) {
        try {
          await collection.insertOne({ ...event })
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error
        }
      }
      await store.syncStates.replaceOne({ _id: sync._id }, stateForRedrive(sync, eventId, now))
      return true
    })
  }

  return {
    async resync(request: ResyncRequest): Promise<ResyncReply> {
      const now = clock()
      const filter: Filter<SyncDoc> = {}
      if (request.tenantId) filter.tenantId = request.tenantId
      if (request.appointmentIds) {
        filter._id = { $in: request.appointmentIds }
      } else {
        // `conflict` is never stored (it lives in the conflict marks), so asking for it matches nothing here.
        filter.status = { $in: (request.statuses ?? ['pending', 'failed']).filter((status) => status !== 'conflict') }
        const cutoff = new Date(now.getTime() - (request.olderThanSeconds ?? 0) * 1000)
        filter.changedAt = { $lte: toIso(cutoff) }
      }
      const found = await store.syncStates.find(filter).sort({ changedAt: 1 }).limit(MAX_MATCHES).toArray()
      // A double booking waits for an operator, however its sync stands: not for a bulk re-sync.
      const conflicted = request.appointmentIds ? new Set<string>() : await store.conflictedIds(found)
      const states = found.filter((state) => !conflicted.has(state._id))
      const appointmentIds = states.map((state) => state._id)
      if (request.dryRun) return { matched: states.length, appointmentIds, dispatched: 0 }
      let dispatched = 0
      for (const state of states)
        if (await redrive(state, request.requestedBy, request.verify === true, now)) dispatched++
      if (dispatched > 0) deps.onEvent()
      return { matched: states.length, appointmentIds, dispatched }
    },

    async syncStats(request: SyncStatsRequest): Promise<SyncStatsReply> {
      const since = new Date(request.since).toISOString()
      const match: Filter<SyncDoc> = { changedAt: { $gte: since } }
      if (request.tenantId) match.tenantId = request.tenantId
      const groups = await store.syncStates
        .aggregate<{ _id: string; count: number }>([
          { $match: match },
          { $group: { _id: '$status', count: { $sum: 1 } } },
        ])
        .toArray()
      const reply: SyncStatsReply = { total: 0, pending: 0, synced: 0, failed: 0, conflict: 0, skipped: 0 }
      for (const group of groups) {
        if (group._id in reply && group._id !== 'total') reply[group._id as keyof SyncStatsReply] = group.count
        reply.total += group.count
      }
      // Double bookings are kept apart from the states (see ConflictDoc): count them as conflicts.
      // A mark is made after the change it is about, so marks older than the window cannot matter.
      const marks = await store.conflicts
        .find({
          ...(request.tenantId ? { tenantId: request.tenantId } : {}),
          flaggedAt: { $gte: since },
        })
        .toArray()
      if (marks.length > 0) {
        const states = await store.syncStates
          .find({ ...match, _id: { $in: marks.map((mark) => mark.appointmentId) } })
          .toArray()
        const conflicted = await store.conflictedIds(states)
        for (const state of states) {
          if (!conflicted.has(state._id) || !(state.status in reply)) continue
          reply[state.status as keyof SyncStatsReply]--
          reply.conflict++
        }
      }
      return reply
    },
  }
}

export type Resync = ReturnType<typeof createResync>
