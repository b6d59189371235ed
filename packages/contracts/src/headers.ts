/** NATS header names every calsync message may carry (DESIGN §5). */
export const HEADERS = {
  /** JetStream publish de-duplication id. */
  msgId: 'Nats-Msg-Id',
  /** W3C trace context (https://www.w3.org/TR/trace-context/). */
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  origin: 'Calsync-Origin',
  tenant: 'Calsync-Tenant',
  /** The `type` of the JSON body, so a consumer can route before parsing. */
  messageType: 'Calsync-Type',
} as const

/** HTTP header that answers every request with the trace id of its trace (DESIGN §4.1). */
export const TRACE_ID_HTTP_HEADER = 'x-trace-id'
