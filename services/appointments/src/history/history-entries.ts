import type { HistoryEntry, SyncResult } from '@calsync/contracts'
import type { EventDoc } from '../appointments/appointments-store.ts'

/**
 * The lines of an appointment's story (GET /v1/appointments/{id}/history, HistoryEntry in the
 * contracts): who did what, when, on which Cal.com booking, under which trace. Pure builders, so
 * the story of any order of events, results and webhooks reads the same way.
 */
export type { HistoryEntry }

/** The trace id of a W3C traceparent (`00-<trace>-<span>-<flags>`). */
export function traceIdOf(traceparent: string | undefined): string | null {
  const match = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent ?? '')
  return match?.[1] ?? null
}

function whoOf(event: EventDoc): string {
  const { origin, via } = event.initiatedBy
  if (via.startsWith('webhook:reconcile-')) return `${origin} reconciler (drift found: no webhook told it)`
  if (via.startsWith('webhook:')) return `${origin} webhook`
  if (via.startsWith('redrive:')) return `${origin} ${via.slice('redrive:'.length)}`
  return `${origin} ${via.replace(':', ' ')}`
}

/** What one version changed, read against the version before it. */
export function entryOfEvent(event: EventDoc, previous: EventDoc | undefined): HistoryEntry {
  const now = event.snapshot
  const before = previous?.snapshot
  let what: string
  let detail: string
  if (event.type === 'appointment.sync_requested') {
    what = 'sync_requested'
    detail = `the sync of version ${event.version} re-driven`
  } else if (!before && now.status === 'cancelled') {
    // Learnt of only by its cancel (its CREATED never came): the booking and its end at once.
    what = 'cancelled'
    detail = `booked ${now.start} – ${now.end} on ${now.resource} and cancelled before calsync saw it`
  } else if (!before) {
    what = 'created'
    detail = `booked ${now.start} – ${now.end} on ${now.resource}`
  } else if (now.status === 'cancelled' && before.status !== 'cancelled') {
    what = 'cancelled'
    detail = now.awaiting === 'new_time' ? 'cancelled: the host asked for another time' : 'cancelled'
  } else if (Date.parse(now.start) !== Date.parse(before.start)) {
    what = 'moved'
    detail = `moved from ${before.start} to ${now.start}`
  } else if (before.awaiting === 'confirmation' && !now.awaiting) {
    what = 'confirmed'
    detail = 'the host confirmed the booking on Cal.com'
  } else {
    what = 'changed'
    detail = `version ${event.version}`
  }
  if (now.awaiting === 'confirmation' && what !== 'confirmed') detail += ' (awaiting the host’s confirmation)'
  return {
    at: event.occurredAt,
    what,
    who: whoOf(event),
    version: event.version,
    bookingUid: now.calcomBookingUid,
    detail,
    traceId: traceIdOf(event.trace.traceparent),
  }
}

/** One attempt of calcom-sync, as its result tells it. */
export function entryOfResult(result: SyncResult, traceId: string | null): HistoryEntry {
  const base = {
    at: result.at,
    what: 'sync_attempt',
    who: 'calcom-sync',
    version: result.version,
    traceId,
  }
  switch (result.type) {
    case 'sync.succeeded':
      return {
        ...base,
        bookingUid: result.calcomBookingUid,
        detail: `attempt ${result.attempt}: succeeded on Cal.com (${result.action ?? 'unchanged'})`,
      }
    case 'sync.attempt_failed':
      return {
        ...base,
        bookingUid: null,
        detail: `attempt ${result.attempt}: failed (${result.errorCode}: ${result.errorMessage}), will retry`,
      }
    case 'sync.failed':
      return {
        ...base,
        bookingUid: null,
        detail: `attempt ${result.attempt}: failed for good (${result.errorCode}: ${result.errorMessage}); review opened`,
      }
  }
}

/** What a webhook that changed no version did: an echo recognised, a double booking reported, … */
export function entryOfWebhook(input: {
  at: string
  outcome: string
  trigger: string
  bookingUid: string
  viaReconciler: boolean
  actor: string | null
  traceId: string | null
}): HistoryEntry {
  const source = input.viaReconciler ? 'calcom reconciler' : 'calcom webhook'
  const found = input.viaReconciler ? ' (drift found: no webhook told it)' : ''
  const details: Record<string, string> = {
    echo: `${input.trigger} recognised as calsync's own change`,
    duplicate: `${input.trigger} already applied`,
    conflict: `${input.trigger}: overlaps another booking; double booking reported for review`,
    review: `${input.trigger} could not be applied; review opened`,
    stale: `${input.trigger} older than what calsync holds; ignored`,
  }
  return {
    at: input.at,
    what: input.outcome,
    who: input.actor ? `${source} ${input.actor}` : source,
    version: null,
    bookingUid: input.bookingUid,
    detail: `${details[input.outcome] ?? input.trigger}${found}`,
    traceId: input.traceId,
  }
}

/** In order of time; at one instant, changes before what followed from them. */
export function inOrder(entries: readonly HistoryEntry[]): HistoryEntry[] {
  const rank = (entry: HistoryEntry) => (entry.version !== null && entry.what !== 'sync_attempt' ? 0 : 1)
  return [...entries].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || rank(a) - rank(b))
}
