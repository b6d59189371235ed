import { type AppointmentSnapshot, driveOf, type SyncResult, type SyncStatus } from '@calsync/contracts'
import { type ChainFact, type ChainLink, chainEnd, withFacts } from './booking-chain.ts'

/**
 * Where an appointment's sync with Cal.com stands, and its booking chain: one document per
 * appointment, written only by the holder of the appointment's lock, from pure functions of what
 * happened (a new version, a re-drive, a sync result), so it cannot go backwards.
 */
export interface SyncDoc {
  _id: string
  tenantId: string
  /** The appointment version the status speaks about. */
  version: number
  status: Exclude<SyncStatus, 'conflict'>
  attempts: number
  lastAttemptAt: string | null
  errorCode: string | null
  errorMessage: string | null
  verifiedAt: string | null
  requiresManualReview: boolean
  flaggedAt: string | null
  /** The appointment event being synced (the version's own, or a re-drive of it). */
  eventId: string
  /** When the change to sync was made, for change → Cal.com latency and the resync age. */
  changedAt: string
  /**
   * A local change calcom-sync is bringing to Cal.com and has not finished (no terminal result):
   * while set, Cal.com's reschedules and cancels of the chain wait for its result.
   */
  awaiting: { version: number; eventId: string } | null
  /** The newest result applied, as an ordering key: older or repeated results change no status. */
  lastResult: ResultKey | null
  /** Re-drives of the current version so far (their event ids count on from it). */
  drives: number
  chain: ChainLink[]
  /** The chain's end, kept for readers. */
  calcomBookingUid: string | null
  updatedAt: string
}

/** [version, re-drive, attempt, terminal]: compared element by element. */
export type ResultKey = [number, number, number, number]

export { driveOf }

export function compareKeys(a: ResultKey, b: ResultKey): number {
  for (let i = 0; i < a.length; i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0)
    if (difference !== 0) return difference
  }
  return 0
}

function keyOf(result: SyncResult): ResultKey {
  return [result.version, driveOf(result.eventId), result.attempt, result.type === 'sync.attempt_failed' ? 0 : 1]
}

function withChain(doc: SyncDoc, chain: ChainLink[]): SyncDoc {
  return { ...doc, chain, calcomBookingUid: chainEnd(chain)?.uid ?? null }
}

/** Facts that change no version (an echo's uid, a cancel already made here): the chain only. */
export function withChainFacts(doc: SyncDoc, facts: readonly ChainFact[], now: Date): SyncDoc {
  return { ...withChain(doc, withFacts(doc.chain, facts)), updatedAt: now.toISOString() }
}

/** The state of a newly written version: pending for a local change, synced for one that came from Cal.com (I5). */
export function stateForVersion(
  previous: SyncDoc | undefined,
  snapshot: AppointmentSnapshot,
  eventId: string,
  facts: readonly ChainFact[],
  now: Date,
): SyncDoc {
  if (previous && previous.version >= snapshot.version) return previous
  const at = now.toISOString()
  const fromCalcom = snapshot.origin === 'calcom'
  const base: SyncDoc = {
    _id: snapshot.id,
    tenantId: snapshot.tenantId,
    version: snapshot.version,
    status: fromCalcom ? 'synced' : 'pending',
    attempts: 0,
    lastAttemptAt: null,
    errorCode: null,
    errorMessage: null,
    verifiedAt: fromCalcom ? at : null,
    requiresManualReview: false,
    flaggedAt: null,
    eventId,
    changedAt: snapshot.updatedAt,
    awaiting: fromCalcom ? (previous?.awaiting ?? null) : { version: snapshot.version, eventId },
    lastResult: previous?.lastResult ?? null,
    drives: 0,
    chain: [],
    calcomBookingUid: null,
    updatedAt: at,
  }
  return withChain(base, withFacts(previous?.chain ?? [], facts))
}

/** An operator's retry or a bulk re-sync: the current version is pushed again, as a fresh sync. */
export function stateForRedrive(doc: SyncDoc, eventId: string, now: Date): SyncDoc {
  return {
    ...doc,
    status: 'pending',
    attempts: 0,
    errorCode: null,
    errorMessage: null,
    requiresManualReview: false,
    flaggedAt: null,
    eventId,
    changedAt: now.toISOString(),
    awaiting: { version: doc.version, eventId },
    drives: driveOf(eventId),
    updatedAt: now.toISOString(),
  }
}

/** What a successful sync tells about the chain: the booking calsync made, moved or cancelled. */
export function factsOfResult(result: SyncResult): ChainFact[] {
  if (result.type === 'sync.attempt_failed') return []
  if (result.steps && result.steps.length > 0) {
    // Every step calsync made so far and what the sync found, attributed (a result lost on the
    // way, or a retry that recovered lost answers, is told by the next one).
    return result.steps.map((step): ChainFact => {
      const version = step.version ?? result.version
      const start = step.start ? { start: step.start } : {}
      switch (step.action) {
        case 'created':
          return { kind: 'booked', uid: step.uid, by: step.by, version, ...start }
        case 'rescheduled':
          return step.previousBookingUid
            ? { kind: 'moved', from: step.previousBookingUid, uid: step.uid, by: step.by, version, ...start }
            : { kind: 'booked', uid: step.uid, by: step.by, version, ...start }
        default:
          return { kind: 'cancelled', uid: step.uid, by: step.by, version }
      }
    })
  }
  if (result.type === 'sync.failed' || !result.calcomBookingUid) return []
  const { version } = result
  const uid = result.calcomBookingUid
  const start = result.start ? { start: result.start } : {}
  switch (result.action) {
    case 'rescheduled':
      return result.previousBookingUid
        ? [{ kind: 'moved', from: result.previousBookingUid, uid, by: 'calsync', version, ...start }]
        : [{ kind: 'booked', uid, by: 'calsync', version, ...start }]
    case 'cancelled':
      return [{ kind: 'cancelled', uid: result.previousBookingUid ?? uid, by: 'calsync', version }]
    case 'unchanged':
      return []
    default:
      // `created`, or a result from a calcom-sync that does not say what it did.
      return [{ kind: 'booked', uid, by: 'calsync', version, ...start }]
  }
}

/**
 * Applies one sync result. Its chain facts always count (they are facts, in any order); it moves
 * the status only if it is newer than every result applied so far and speaks about this version.
 */
export function applyResult(doc: SyncDoc, result: SyncResult, now: Date): SyncDoc {
  let next = withChain(doc, withFacts(doc.chain, factsOfResult(result)))
  const key = keyOf(result)
  const terminal = result.type !== 'sync.attempt_failed'
  if (
    terminal &&
    next.awaiting &&
    compareKeys(key, [next.awaiting.version, driveOf(next.awaiting.eventId), 0, 0]) >= 0
  ) {
    next = { ...next, awaiting: null }
  }
  if (next.lastResult && compareKeys(key, next.lastResult) <= 0) return next
  next = { ...next, lastResult: key }
  // A result of an earlier version, or of a drive an operator's re-drive replaced, is history.
  if (result.version < next.version || (result.version === next.version && key[1] < next.drives)) return next
  const common = { attempts: result.attempt, lastAttemptAt: result.at, updatedAt: now.toISOString() }
  switch (result.type) {
    case 'sync.succeeded':
      return {
        ...next,
        ...common,
        status: 'synced',
        verifiedAt: result.at,
        errorCode: null,
        errorMessage: null,
        requiresManualReview: false,
        flaggedAt: null,
      }
    case 'sync.attempt_failed':
      return { ...next, ...common, status: 'pending', errorCode: result.errorCode, errorMessage: result.errorMessage }
    case 'sync.failed':
      return {
        ...next,
        ...common,
        status: 'failed',
        errorCode: result.errorCode,
        errorMessage: result.errorMessage,
        requiresManualReview: true,
        flaggedAt: result.at,
      }
  }
}
