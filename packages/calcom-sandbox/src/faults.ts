export type FaultAction =
  | { status: 400 | 401 | 403 | 404 | 409 | 422 | 429 | 500 | 502 | 503 }
  | { delayMs: number }
  | { hang: true }
  | { commitThenDrop: true }

export interface FaultMatch {
  method?: string
  /** A path prefix, or a regular expression when it starts with `^`. */
  path?: string
  tenantId?: string
}

export interface Fault {
  match: FaultMatch
  action: FaultAction
  remaining: number
}

/** Faults queued by tests for the next N matching requests, consumed in order. */
export function createFaults() {
  let faults: Fault[] = []
  const matches = (match: FaultMatch, method: string, path: string, tenantId: string | undefined) =>
    (!match.method || match.method.toUpperCase() === method) &&
    (!match.path || (match.path.startsWith('^') ? new RegExp(match.path).test(path) : path.startsWith(match.path))) &&
    (!match.tenantId || match.tenantId === tenantId)

  return {
    add(match: FaultMatch, action: FaultAction, times: number): void {
      faults.push({ match, action, remaining: times })
    },
    take(method: string, path: string, tenantId: string | undefined): FaultAction | undefined {
      const fault = faults.find(
        (candidate) => candidate.remaining > 0 && matches(candidate.match, method, path, tenantId),
      )
      if (!fault) return undefined
      fault.remaining--
      faults = faults.filter((candidate) => candidate.remaining > 0)
      return fault.action
    },
    reset: () => {
      faults = []
    },
  }
}

export type Faults = ReturnType<typeof createFaults>
