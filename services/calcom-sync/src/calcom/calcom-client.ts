import { injectTraceContext } from '@calsync/contracts'
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { Agent, type Dispatcher, request } from 'undici'
import { CalcomError, classifyResponse, classifyTransportError, exhaustedWindowMs } from './calcom-errors.ts'

/** Every booking call must carry it: without it Cal.com silently answers with an older API shape. */
export const CAL_API_VERSION = '2024-08-13'

export interface CalcomBooking {
  id: number
  uid: string
  status: string
  start: string
  end: string
  eventTypeId: number
  metadata?: Record<string, unknown> | null
  rescheduledToUid?: string | null
  rescheduledFromUid?: string | null
  attendees: Array<{ name: string; email: string; timeZone: string; phoneNumber?: string | null }>
  createdAt?: string
  /** Null for a booking never updated (Cal.com's listing filters by it only when set). */
  updatedAt?: string | null
}

export interface CreateBookingInput {
  start: string
  eventTypeId: number
  attendee: { name: string; email: string; timeZone: string; phoneNumber?: string }
  metadata: Record<string, string>
}

export interface ListBookingsQuery {
  attendeeEmail?: string
  eventTypeId?: number
  /** Comma-separated event type ids. */
  eventTypeIds?: string
  bookingUid?: string
  afterStart?: string
  beforeEnd?: string
  afterCreatedAt?: string
  afterUpdatedAt?: string
  sortCreated?: 'asc' | 'desc'
  sortUpdatedAt?: 'asc' | 'desc'
  status?: string
  take?: number
  skip?: number
}

export interface BookingsPage {
  bookings: CalcomBooking[]
  hasNextPage: boolean
}

/**
 * Where every Cal.com call asks for its turn: one budget per API key, shared by all instances.
 * `beforeCall` resolves once this call is counted; `rateLimited` passes on what Cal.com said about
 * its own limit (a 429's reset, or no calls remaining) so every instance waits.
 */
export interface CallGate {
  beforeCall(apiKey: string, signal?: AbortSignal): Promise<void>
  rateLimited(apiKey: string, waitMs: number): Promise<void>
}

/** A 429 is retried this often within one call: Cal.com did not process the request, so repeating it is safe. */
const RATE_LIMIT_RETRIES = 5

export interface CalcomClientOptions {
  baseUrl: string
  connectTimeoutMs?: number
  headersTimeoutMs?: number
  bodyTimeoutMs?: number
  /** Built in main; tests may pass their own. */
  dispatcher?: Dispatcher
  gate?: CallGate
  /** Aborts waits for the budget (shutdown). */
  signal?: AbortSignal
}

const tracer = trace.getTracer('calcom-client')

export function createCalcomDispatcher(options: Omit<CalcomClientOptions, 'baseUrl' | 'dispatcher'>): Agent {
  return new Agent({
    keepAliveTimeout: 30_000,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    headersTimeout: options.headersTimeoutMs ?? 10_000,
    bodyTimeout: options.bodyTimeoutMs ?? 10_000,
  })
}

/** Cal.com API v2 bookings, one API key per call (the tenant's), failures as classified `CalcomError`s. */
export function createCalcomClient(options: CalcomClientOptions) {
  const base = options.baseUrl.replace(/\/$/, '')
  const dispatcher = options.dispatcher ?? createCalcomDispatcher(options)

  const gate = options.gate

  /** One request as Cal.com answers it, after waiting for the budget; 429s wait for the reset and go again. */
  async function call<T>(apiKey: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await gate?.beforeCall(apiKey, options.signal)
      try {
        return await callOnce<T>(apiKey, method, path, body)
      } catch (error) {
        if (!(error instanceof CalcomError) || error.retryAfterMs === undefined) throw error
        await gate?.rateLimited(apiKey, error.retryAfterMs)
        if (!gate || attempt >= RATE_LIMIT_RETRIES) throw error
      }
    }
  }

  async function callOnce<T>(apiKey: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const url = new URL(`${base}${path}`)
    return tracer.startActiveSpan(
      `${method} ${path.replace(/\/v2\/bookings\/[^/?]+/, '/v2/bookings/{uid}').split('?')[0]}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'http.request.method': method, 'server.address': url.hostname, 'url.full': url.toString() },
      },
      async (span) => {
        try {
          const headers: Record<string, string> = {
            authorization: `Bearer ${apiKey}`,
            'cal-api-version': CAL_API_VERSION,
            accept: 'application/json',
          }
          if (body !== undefined) headers['content-type'] = 'application/json'
          injectTraceContext({
            get: (key) => headers[key] ?? '',
            set: (key, value) => {
              headers[key] = value
            },
            keys: () => Object.keys(headers),
          })
          let response: Dispatcher.ResponseData
          try {
            response = await request(url, {
              method,
              headers,
              dispatcher,
              ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            })
          } catch (error) {
            throw classifyTransportError(error)
          }
          span.setAttribute('http.response.status_code', response.statusCode)
          const exhaustedFor = exhaustedWindowMs(response.headers)
          if (exhaustedFor !== undefined && response.statusCode < 300) await gate?.rateLimited(apiKey, exhaustedFor)
          let parsed: { status?: string; data?: unknown; error?: { message?: string } } | undefined
          try {
            parsed = (await response.body.json()) as typeof parsed
          } catch (error) {
            if (response.statusCode < 300) throw classifyTransportError(error)
          }
          if (response.statusCode >= 300) {
            throw classifyResponse(response.statusCode, parsed?.error?.message ?? 'no error message', response.headers)
          }
          return (method === 'GET' && path.startsWith('/v2/bookings?') ? parsed : parsed?.data) as T
        } catch (error) {
          const failure = error instanceof CalcomError ? error : classifyTransportError(error)
          span.recordException(failure)
          span.setStatus({ code: SpanStatusCode.ERROR, message: failure.code })
          throw failure
        } finally {
          span.end()
        }
      },
    )
  }

  return {
    createBooking: (apiKey: string, input: CreateBookingInput) =>
      call<CalcomBooking>(apiKey, 'POST', '/v2/bookings', input),
    getBooking: (apiKey: string, uid: string) =>
      call<CalcomBooking>(apiKey, 'GET', `/v2/bookings/${encodeURIComponent(uid)}`),
    /** One page; Cal.com pages by `take` (at most 250, 100 when absent) and `skip`. */
    async listBookings(apiKey: string, query: ListBookingsQuery): Promise<BookingsPage> {
      const params = new URLSearchParams()
      for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value))
      const page = await call<{ data?: CalcomBooking[]; pagination?: { hasNextPage?: boolean } }>(
        apiKey,
        'GET',
        `/v2/bookings?${params}`,
      )
      const bookings = Array.isArray(page?.data) ? page.data : []
      return { bookings, hasNextPage: page?.pagination?.hasNextPage === true }
    },
    cancelBooking: (apiKey: string, uid: string, cancellationReason: string) =>
      call<CalcomBooking>(apiKey, 'POST', `/v2/bookings/${encodeURIComponent(uid)}/cancel`, { cancellationReason }),
    rescheduleBooking: (apiKey: string, uid: string, start: string, reschedulingReason: string) =>
      call<CalcomBooking>(apiKey, 'POST', `/v2/bookings/${encodeURIComponent(uid)}/reschedule`, {
        start,
        reschedulingReason,
      }),
    close: () => dispatcher.close(),
  }
}

export type CalcomClient = ReturnType<typeof createCalcomClient>
