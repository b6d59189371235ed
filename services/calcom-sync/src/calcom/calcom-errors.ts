import { ERROR_CODES, type ErrorCode } from '@calsync/contracts'
import { errors as undiciErrors } from 'undici'

/** A failed Cal.com call, classified once so the worker only decides by `retryable` and `code`. */
export class CalcomError extends Error {
  override name = 'CalcomError'
  readonly code: ErrorCode
  readonly retryable: boolean
  readonly status: number | undefined
  /** For 429: how long until the rate-limit window resets. */
  readonly retryAfterMs: number | undefined

  constructor(
    code: ErrorCode,
    message: string,
    options: { retryable: boolean; status?: number; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, { cause: options.cause })
    this.code = code
    this.retryable = options.retryable
    this.status = options.status
    this.retryAfterMs = options.retryAfterMs
  }
}

// Cal.com answers a taken slot with 400 and one of these phrases (409 in a true race).
const SLOT_TAKEN = /already has booking|is not available|can't be booked at/i

const TERMINAL_BY_STATUS: Record<number, ErrorCode> = {
  400: ERROR_CODES.calcomBadRequest,
  401: ERROR_CODES.calcomUnauthorized,
  403: ERROR_CODES.calcomForbidden,
  404: ERROR_CODES.calcomNotFound,
  422: ERROR_CODES.calcomUnprocessable,
}

/** Reads the wait before the next allowed call from `X-RateLimit-Reset-*` (seconds) or `Retry-After`. */
export function retryAfterMsOf(headers: Record<string, string | string[] | undefined>): number | undefined {
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)
  const retryAfter = Number(first(headers['retry-after']))
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return retryAfter * 1000
  const resets = Object.entries(headers)
    .filter(([name]) => name.toLowerCase().startsWith('x-ratelimit-reset'))
    .map(([, value]) => Number(first(value)))
    .filter((value) => Number.isFinite(value) && value >= 0)
  // Unit unverified in Cal.com's docs; seconds in current @nestjs/throttler storages.
  return resets.length > 0 ? Math.max(...resets) * 1000 : undefined
}

/** When an answer says no calls remain in Cal.com's window: how long until it resets. */
export function exhaustedWindowMs(headers: Record<string, string | string[] | undefined>): number | undefined {
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)
  const remaining = Object.entries(headers)
    .filter(([name]) => name.toLowerCase().startsWith('x-ratelimit-remaining'))
    .map(([, value]) => Number(first(value)))
    .filter((value) => Number.isFinite(value))
  if (remaining.length === 0 || Math.min(...remaining) > 0) return undefined
  return retryAfterMsOf(headers)
}

export function classifyResponse(
  status: number,
  message: string,
  headers: Record<string, string | string[] | undefined>,
): CalcomError {
  const text = `Cal.com answered ${status}: ${message}`.slice(0, 500)
  if (status === 429) {
    const retryAfterMs = retryAfterMsOf(headers) ?? 60_000
    return new CalcomError(ERROR_CODES.calcomRateLimited, text, { retryable: true, status, retryAfterMs })
  }
  if (status === 409 || (status === 400 && SLOT_TAKEN.test(message))) {
    return new CalcomError(ERROR_CODES.calcomSlotTaken, text, { retryable: false, status })
  }
  if (status >= 500 || status === 408)
    return new CalcomError(ERROR_CODES.calcomServerError, text, { retryable: true, status })
  return new CalcomError(TERMINAL_BY_STATUS[status] ?? ERROR_CODES.calcomBadRequest, text, { retryable: false, status })
}

export function classifyTransportError(error: unknown): CalcomError {
  const timeout =
    error instanceof undiciErrors.ConnectTimeoutError ||
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    (error instanceof Error && error.name === 'TimeoutError')
  const detail = error instanceof Error ? error.message : String(error)
  return timeout
    ? new CalcomError(ERROR_CODES.calcomTimeout, `Cal.com did not answer in time: ${detail}`, {
        retryable: true,
        cause: error,
      })
    : new CalcomError(ERROR_CODES.calcomNetwork, `Cal.com could not be reached: ${detail}`, {
        retryable: true,
        cause: error,
      })
}
