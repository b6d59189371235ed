/**
 * The decision behind the shared Cal.com call budget, free of I/O so it can be tested exhaustively.
 *
 * Cal.com counts calls per API key in a fixed window that starts at the first call, and we do not
 * know where its windows begin. A token bucket with a burst could spend a full burst at the end of
 * one Cal.com window and another at the start of the next. A sliding-window log is safe whatever
 * the alignment: in ANY interval of `windowMs`, at most `limit` calls are allowed.
 */

export interface CallWindowState {
  /** Epoch ms of the calls in the last window, ascending. */
  calls: number[]
  /** Epoch ms before which no call is allowed (Cal.com said so: a 429 or no calls remaining). */
  blockedUntil: number
}

export type CallDecision = { ok: true; next: CallWindowState } | { ok: false; waitMs: number }

/**
 * Whether one more call may start at `now`. Two calls share a window when they are less than
 * `windowMs` apart, so a call at `now` is allowed when fewer than `limit` calls lie in
 * (now − windowMs, now]. When refused, `waitMs` is exact: at now + waitMs the call would be
 * allowed, absent other calls.
 */
export function decideCall(
  state: CallWindowState | undefined,
  now: number,
  limit: number,
  windowMs: number,
): CallDecision {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`call limit must be a positive integer, not ${limit}`)
  const calls = state?.calls ?? []
  const blockedUntil = state?.blockedUntil ?? 0
  // Another instance's clock may run slightly ahead: never record a call before the last one, so
  // the log stays ascending and the window holds on the log's own timeline.
  const at = Math.max(now, calls.at(-1) ?? now)
  const recent = calls.filter((call) => call > at - windowMs)
  const full = recent.length >= limit
  if (now < blockedUntil || full) {
    // The oldest call that must leave the window for one more to fit (more than one if the limit
    // was lowered since those calls were counted).
    const freesAt = full ? (recent[recent.length - limit] as number) + windowMs : 0
    return { ok: false, waitMs: Math.max(blockedUntil, freesAt) - now }
  }
  return { ok: true, next: { calls: [...recent, at], blockedUntil } }
}

/** Blocks calls until `untilMs`; an existing longer block stays (a late, shorter reset must not lift it). */
export function blockUntil(state: CallWindowState | undefined, untilMs: number): CallWindowState {
  return { calls: state?.calls ?? [], blockedUntil: Math.max(state?.blockedUntil ?? 0, untilMs) }
}

/** The state in a stored value, or undefined when it is not one (then the key starts afresh). */
export function parseCallWindowState(value: unknown): CallWindowState | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { calls, blockedUntil } = value as Record<string, unknown>
  if (!Array.isArray(calls) || !calls.every((call) => Number.isFinite(call))) return undefined
  if (typeof blockedUntil !== 'number' || !Number.isFinite(blockedUntil)) return undefined
  return { calls: (calls as number[]).toSorted((a, b) => a - b), blockedUntil }
}
