import { errors } from 'undici'
import { describe, expect, it } from 'vitest'
import { classifyResponse, classifyTransportError, retryAfterMsOf } from '../src/calcom/calcom-errors.ts'

describe('Cal.com failure classification', () => {
  it('retries server errors, timeouts, network failures and rate limits', () => {
    expect(classifyResponse(503, 'unavailable', {})).toMatchObject({ code: 'calcom_server_error', retryable: true })
    expect(classifyResponse(500, 'boom', {})).toMatchObject({ retryable: true })
    expect(classifyTransportError(new errors.HeadersTimeoutError('slow'))).toMatchObject({
      code: 'calcom_timeout',
      retryable: true,
    })
    expect(classifyTransportError(new errors.SocketError('other side closed'))).toMatchObject({
      code: 'calcom_network_error',
      retryable: true,
    })
    const limited = classifyResponse(429, 'Too many requests.', { 'x-ratelimit-reset-default': '7' })
    expect(limited).toMatchObject({ code: 'calcom_rate_limited', retryable: true, retryAfterMs: 7000 })
  })

  it('gives up at once on validation, auth and taken slots', () => {
    expect(classifyResponse(400, 'start must be a date', {})).toMatchObject({
      code: 'calcom_bad_request',
      retryable: false,
    })
    expect(classifyResponse(401, 'Your api key is not valid', {})).toMatchObject({
      code: 'calcom_unauthorized',
      retryable: false,
    })
    expect(classifyResponse(403, 'no', {})).toMatchObject({ code: 'calcom_forbidden', retryable: false })
    expect(classifyResponse(404, 'gone', {})).toMatchObject({ code: 'calcom_not_found', retryable: false })
    expect(classifyResponse(422, 'bad', {})).toMatchObject({ code: 'calcom_unprocessable', retryable: false })
    expect(classifyResponse(400, 'User either already has booking at this time or is not available', {})).toMatchObject(
      { code: 'calcom_slot_taken', retryable: false },
    )
    expect(classifyResponse(409, 'conflict', {})).toMatchObject({ code: 'calcom_slot_taken', retryable: false })
  })

  it('reads the wait from Retry-After or X-RateLimit-Reset-*', () => {
    expect(retryAfterMsOf({ 'retry-after': '3' })).toBe(3000)
    expect(retryAfterMsOf({ 'x-ratelimit-reset-default': '2', 'x-ratelimit-reset-short': '5' })).toBe(5000)
    expect(retryAfterMsOf({})).toBeUndefined()
  })
})
