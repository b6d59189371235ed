export interface RequestRecord {
  method: string
  /** The URL as requested, query included. */
  path: string
  /** The tenant of the API key; the key itself is never recorded. */
  tenantId: string | null
  /** The status answered (or, after a commitThenDrop, the one that would have been); null if none. */
  status: number | null
  traceparent: string | null
  calApiVersion: string | null
  body: unknown
  /** The injected fault that hit this request, e.g. "status 503", "delay 200ms", "hang", "commitThenDrop". */
  fault: string | null
  at: string
}

/** The API calls the sandbox saw, oldest first; only the newest `maxEntries` are kept. */
export function createRequestLog(maxEntries = 10_000) {
  const records: RequestRecord[] = []
  return {
    add(record: RequestRecord): RequestRecord {
      records.push(record)
      if (records.length > maxEntries) records.shift()
      return record
    },
    all: (): RequestRecord[] => records.map((record) => ({ ...record })),
    reset(): void {
      records.length = 0
    },
  }
}

export type RequestLog = ReturnType<typeof createRequestLog>
