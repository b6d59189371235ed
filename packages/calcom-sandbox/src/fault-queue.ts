export type FaultStatus = 400 | 401 | 403 | 404 | 408 | 409 | 422 | 429 | 500 | 502 | 503 | 504

export type FaultAction =
  /** Answer this status with a Cal.com error envelope; a 429 also carries the rate-limit headers. */
  | { status: FaultStatus; resetSeconds?: number }
  /** Wait, then proceed normally; the wait sits between the availability check and the write. */
  | { delayMs: number }
  /** Never answer, until the client gives up or the sandbox is reset or closed. */
  | { hang: true }
  /** Do the real work (booking written, webhook sent), then drop the connection unanswered. */
  | { commitThenDrop: true }

export interface FaultMatch {
  method?: string
  /** A path prefix, or a regular expression when it starts with `^`; matched against the URL with its query. */
  path?: string
  apiKey?: string
  tenantId?: string
}

export interface QueuedFault {
  match: FaultMatch
  action: FaultAction
  remaining: number
}

export interface FaultTarget {
  method: string
  url: string
  apiKey: string | undefined
  tenantId: string | undefined
}

const STATUSES: readonly number[] = [400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504]

const pathMatches = (pattern: string, url: string) =>
  pattern.startsWith('^') ? new RegExp(pattern).test(url) : url.startsWith(pattern)

function matches(match: FaultMatch, target: FaultTarget): boolean {
  if (match.method && match.method.toUpperCase() !== target.method) return false
  if (match.path && !pathMatches(match.path, target.url)) return false
  if (match.apiKey && match.apiKey !== target.apiKey) return false
  return !match.tenantId || match.tenantId === target.tenantId
}

/** Checks a fault sent to the control API; the message says what is wrong. */
export function checkFault(match: unknown, action: unknown, times: unknown): string | undefined {
  if (match !== undefined && (match === null || typeof match !== 'object')) return 'match must be an object'
  const path = (match as FaultMatch | undefined)?.path
  if (typeof path === 'string' && path.startsWith('^')) {
    try {
      new RegExp(path)
    } catch {
      return `match.path is not a valid regular expression: ${path}`
    }
  }
  if (times !== undefined && (!Number.isInteger(times) || (times as number) < 1)) return 'times must be an integer ≥ 1'
  if (action === null || typeof action !== 'object') return 'action is required'
  const given = action as Record<string, unknown>
  if ('status' in given && STATUSES.includes(given.status as number)) {
    const reset = given.resetSeconds
    return reset === undefined || (Number.isInteger(reset) && (reset as number) >= 0)
      ? undefined
      : 'action.resetSeconds must be a whole number of seconds'
  }
  if ('delayMs' in given && Number.isInteger(given.delayMs) && (given.delayMs as number) >= 0) return undefined
  if (given.hang === true || given.commitThenDrop === true) return undefined
  return `action must be one of { status: ${STATUSES.join('|')} }, { delayMs }, { hang: true }, { commitThenDrop: true }`
}

/** Faults queued by tests for the next N matching API requests, first queued first used. */
export function createFaultQueue() {
  let queued: QueuedFault[] = []
  return {
    add(match: FaultMatch, action: FaultAction, times = 1): void {
      queued.push({ match: { ...match }, action: { ...action }, remaining: times })
    },
    /** The action for this request, if a queued fault matches it; that fault's count goes down. */
    take(target: FaultTarget): FaultAction | undefined {
      const fault = queued.find((candidate) => matches(candidate.match, target))
      if (!fault) return undefined
      fault.remaining--
      queued = queued.filter((candidate) => candidate.remaining > 0)
      return fault.action
    },
    /** What is still queued; a matched API key is shown redacted, as keys are nowhere else. */
    pending: (): QueuedFault[] =>
      queued.map((fault) => ({
        ...fault,
        match: { ...fault.match, ...(fault.match.apiKey ? { apiKey: '[redacted]' } : {}) },
      })),
    /** Drops queued faults (only those matching one tenant, when given); answers how many went. */
    clear(tenantId?: string): number {
      const before = queued.length
      queued = tenantId === undefined ? [] : queued.filter((fault) => fault.match.tenantId !== tenantId)
      return before - queued.length
    },
    reset(): void {
      queued = []
    },
  }
}

export type FaultQueue = ReturnType<typeof createFaultQueue>
