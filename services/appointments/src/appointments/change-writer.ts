import { randomBytes } from 'node:crypto'
import { injectTraceContext } from '@calsync/contracts'
import { DuplicateKeyError, insertUnique, isDuplicateKeyError, type Logger, withSpan } from '@calsync/service-kit'
import { SpanKind, trace } from '@opentelemetry/api'
import { ConcurrentChangeError, SlotUnavailableError } from '../errors.ts'
import type { ChainFact } from '../sync/booking-chain.ts'
import { stateForVersion } from '../sync/sync-state.ts'
import { type AppointmentSnapshot, changeTypeOf, type Initiator, minutesOf } from './appointment.ts'
import { dayOf } from './appointment-days.ts'
import { AppointmentBusyError, type AppointmentLocks, type HeldLock } from './appointment-lock.ts'
import type { AppointmentsStore, EventDoc, PendingOpDoc } from './appointments-store.ts'
import { eventIdOf } from './appointments-store.ts'
import { type Conflicts, overlaps } from './conflicts.ts'
import { createMinutesRelease } from './minutes-release.ts'
import type { Claimant, SlotClaims } from './slot-claims.ts'

const tracer = trace.getTracer('appointments')
/** How long a change from Cal.com waits for the lock of an appointment holding minutes it needs. */
const CONTEST_LOCK_WAIT_MS = 2000

export interface ChangeInput {
  previous: AppointmentSnapshot | undefined
  next: AppointmentSnapshot
  initiatedBy: Initiator
  /** Local channels get all their minutes or a 409; a Cal.com booking keeps what is free (I2). */
  mode: 'exclusive' | 'keep-both'
  /** What this version tells about the Cal.com booking chain. */
  chainFacts?: ChainFact[]
}

export interface ChangeOutcome {
  snapshot: AppointmentSnapshot
  event: EventDoc
  /** Appointments this one overlaps (a double booking to report). */
  partners: string[]
  /** False when a follow-up step failed after the commit; the next lock holder or the sweeper finishes it. */
  finished: boolean
}

function traceCarrier(): Record<string, string> {
  const carrier: Record<string, string> = {}
  injectTraceContext({
    get: (key) => carrier[key] ?? '',
    set: (key, value) => {
      carrier[key] = value
    },
    keys: () => Object.keys(carrier),
  })
  return carrier
}

const minutesNeeded = (snapshot: AppointmentSnapshot | undefined) =>
  snapshot?.status === 'booked' ? minutesOf(snapshot.start, snapshot.end) : []

/**
 * Writes one change of an appointment, under its lock, the one way that is atomic without
 * transactions (DESIGN §5–6): record the operation, claim the minutes it adds (each claim names
 * the operation), mark double bookings, put the event in the outbox, then insert the event
 * `(appointment, version)` — the commit. Before the commit a failure undoes only this
 * operation's own claims; after it nothing is freed: the follow-up steps (projection, sync state,
 * freeing the minutes the appointment left) are idempotent and finished by whoever takes the
 * lock next if this one stops.
 */
export function createChangeWriter(deps: {
  store: AppointmentsStore
  claims: SlotClaims
  conflicts: Conflicts
  locks: AppointmentLocks
  logger: Logger
  /** Called after each event is in the outbox, e.g. to wake the relay. */
  onRecorded: (event: EventDoc) => void
  /** Runs right after the event insert; a throw stops the work there, as a crash would (tests). */
  afterEventWrite?: (event: EventDoc) => void | Promise<void>
  /** Runs right before the event insert: where a test lets another change run in between. */
  beforeEventWrite?: (event: EventDoc) => void | Promise<void>
  clock?: () => Date
}) {
  const { store, claims, conflicts } = deps
  const clock = deps.clock ?? (() => new Date())
  const log = deps.logger.child({ component: 'change-writer' })
  const release = createMinutesRelease({ store, claims, conflicts, clock })

  async function undo(op: PendingOpDoc): Promise<void> {
    await claims.undo({ tenantId: op.tenantId, resource: op.resource, op: op.nonce }, op.claimed)
    const entry = await store.outbox.findOne({ _id: eventIdOf(op._id, op.version) })
    if (entry?.op === op.nonce) await store.outbox.deleteOne({ _id: entry._id })
    if (op.conflictIds.length > 0) {
      await store.conflicts.bulkWrite(op.conflictIds.map((_id) => ({ deleteOne: { filter: { _id } } })))
    }
    await store.pendingOps.deleteOne({ _id: op._id, nonce: op.nonce })
  }

  /** The follow-up steps of a committed change; each is idempotent, so running them again is safe. */
  async function finish(event: EventDoc): Promise<void> {
    const { snapshot } = event
    // The sync state first, so an appointment the list shows always has one.
    const sync = await store.syncDoc(event.appointmentId)
    const next = stateForVersion(sync, snapshot, event._id, event.chainFacts ?? [], clock())
    if (next !== sync) await store.syncStates.replaceOne({ _id: event.appointmentId }, next, { upsert: true })
    const projected = await store.appointments.findOne({ _id: event.appointmentId })
    if (!projected || projected.version < event.version) {
      // Its day first: a list window must find the appointment once the projection shows it there.
      if (!projected || dayOf(projected.start) !== dayOf(snapshot.start)) {
        await store.days.add(snapshot.tenantId, snapshot.id, snapshot.start)
      }
      await store.appointments.replaceOne(
        { _id: event.appointmentId },
        { ...snapshot, initiatedBy: event.initiatedBy, lastEventId: event._id },
        { upsert: true },
      )
    }
    for (const fact of event.chainFacts ?? []) await store.link(event.tenantId, fact.uid, event.appointmentId, clock())
    const previous =
      event.version > 1 ? (await store.event(event.appointmentId, event.version - 1))?.snapshot : undefined
    if (previous) await release(previous, snapshot, event)
    if (event.op) await store.pendingOps.deleteOne({ _id: event.appointmentId, nonce: event.op })
  }

  /** Finishes or undoes what a holder of this appointment's lock left behind when it stopped. */
  async function recover(lock: HeldLock): Promise<void> {
    const op = await store.pendingOps.findOne({ _id: lock.appointmentId })
    if (!op) return
    const event = await store.event(op._id, op.version)
    if (event && event.op === op.nonce) {
      log.info({ appointmentId: op._id, version: op.version }, 'finishing a change a stopped writer committed')
      await finish(event)
    } else {
      log.info({ appointmentId: op._id, version: op.version }, 'undoing a change a stopped writer left uncommitted')
      await undo(op)
    }
  }

  /**
   * Claims what is free of `minutes` for a change from Cal.com, and marks a double booking with
   * each appointment holding the rest — under that appointment's lock, so it is not freeing those
   * minutes at that moment and its next release sees the mark (and hands them over, never freeing
   * them in between). Minutes a holder freed before we got its lock are claimed in the next round.
   */
  async function contest(
    next: AppointmentSnapshot,
    claimant: Claimant,
    minutes: string[],
    own: 'free' | 'keep',
  ): Promise<{ partners: string[]; marks: string[] }> {
    const partners = new Set<string>()
    const marks: string[] = []
    let pending = minutes
    for (let round = 0; round < 3 && pending.length > 0; round++) {
      const { claimed, holders } = await claims.claimFree(claimant, pending, clock(), own)
      for (const holder of holders.filter((id) => !partners.has(id))) {
        await deps.locks.withLock(holder, { waitMs: CONTEST_LOCK_WAIT_MS }, async (holderLock) => {
          await recover(holderLock)
          const current = await conflicts.latest(holder)
          if (!current || !overlaps(current, next)) return
          // The holder's own partners that overlap us share the double booking: one group, one report.
          const group = [holder]
          for (const other of await conflicts.partnersOf(holder, current.version)) {
            if (other.id !== next.id && overlaps(other, next)) group.push(other.id)
          }
          marks.push(...(await conflicts.mark(next, group)))
          for (const id of group) partners.add(id)
        })
      }
      // Minutes just claimed stay ours (we hold the lock): only the others need a second look.
      const ours = new Set(claimed)
      const others = pending.filter((minute) => !ours.has(minute))
      const docs = await claims.read(others.map((minute) => claims.key(next.tenantId, next.resource, minute)))
      pending = others.filter((_, index) => {
        const doc = docs[index]
        return !doc || (doc.appointmentId !== next.id && !partners.has(doc.appointmentId))
      })
    }
    return { partners: [...partners], marks }
  }

  return {
    finish,

    recover,

    /** Claims for a Cal.com change: see `contest`. */
    contest,

    async write(lock: HeldLock, input: ChangeInput): Promise<ChangeOutcome> {
      const { previous, next } = input
      const owned = new Set(minutesNeeded(previous))
      const added = minutesNeeded(next).filter((minute) => !owned.has(minute))
      const op: PendingOpDoc = {
        _id: next.id,
        tenantId: next.tenantId,
        nonce: randomBytes(9).toString('base64url'),
        version: next.version,
        resource: next.resource,
        claimed: added,
        conflictIds: [],
        startedAt: clock().toISOString(),
      }
      try {
        await store.pendingOps.insertOne(op)
      } catch (error) {
        if (isDuplicateKeyError(error)) throw new AppointmentBusyError(next.id)
        throw error
      }
      const claimant = {
        tenantId: next.tenantId,
        resource: next.resource,
        appointmentId: next.id,
        version: next.version,
        op: op.nonce,
      }
      const partners = new Set<string>()
      if (input.mode === 'exclusive') {
        const claim = await claims.claim(claimant, added, clock())
        if (!claim.ok) {
          await undo(op)
          throw new SlotUnavailableError(claim.holders)
        }
      } else {
        const contested = await contest(next, claimant, added, 'free')
        for (const partner of contested.partners) partners.add(partner)
        op.conflictIds.push(...contested.marks)
      }
      // A double booking this version keeps: it still overlaps a partner of the version it replaces.
      const carried: string[] = []
      if (previous) {
        for (const id of await conflicts.keptPartners(next.id, previous.version, next)) {
          if (!partners.has(id)) carried.push(id)
        }
      }
      for (const partner of carried) partners.add(partner)
      if (carried.length > 0) op.conflictIds.push(...(await conflicts.mark(next, carried)))
      if (op.conflictIds.length > 0) await store.pendingOps.replaceOne({ _id: op._id }, op)
      if (!lock.isFresh()) {
        // Our lease may be taken over any moment now: do not commit on it.
        await undo(op)
        throw new AppointmentBusyError(next.id)
      }
      const event: EventDoc = {
        _id: eventIdOf(next.id, next.version),
        type: changeTypeOf(previous, next),
        tenantId: next.tenantId,
        appointmentId: next.id,
        version: next.version,
        origin: next.origin,
        occurredAt: next.updatedAt,
        snapshot: next,
        initiatedBy: input.initiatedBy,
        trace: traceCarrier(),
        op: op.nonce,
        ...(input.chainFacts && input.chainFacts.length > 0 ? { chainFacts: input.chainFacts } : {}),
      }
      // The outbox entry goes in before the commit, so a crash right after the commit cannot keep
      // the change from being published; the relay publishes only entries whose event exists.
      try {
        await store.outbox.insertOne({ ...event })
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error
        await undo(op)
        throw new ConcurrentChangeError(next.id, next.version)
      }
      await deps.beforeEventWrite?.(event)
      await withSpan(
        tracer,
        'mongodb insert appointment_events',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'mongodb',
            'db.collection.name': 'appointment_events',
            'db.operation.name': 'insert',
          },
        },
        async () => {
          try {
            await insertUnique(store.events, event)
          } catch (error) {
            if (!(error instanceof DuplicateKeyError)) throw error
            await undo(op)
            throw new ConcurrentChangeError(next.id, next.version)
          }
        },
      )
      deps.onRecorded(event)
      await deps.afterEventWrite?.(event)
      let finished = true
      try {
        await finish(event)
      } catch (error) {
        finished = false
        log.warn(
          { err: error, appointmentId: next.id, version: next.version },
          'change committed; its follow-up steps will be finished later',
        )
      }
      // A partner that moved away between our mark and this commit freed the minutes it held:
      // we had no committed state to hand them to. Claim them now (or flag whoever took them);
      // a stop before this line is covered by the webhook's redelivery, whose recheck does the same.
      if (input.mode === 'keep-both' && partners.size > 0) {
        const again = await contest(next, claimant, minutesNeeded(next), 'keep')
        for (const partner of again.partners) partners.add(partner)
      }
      return { snapshot: next, event, partners: [...partners], finished }
    },
  }
}

export type ChangeWriter = ReturnType<typeof createChangeWriter>
