import { describe, expect, it } from 'vitest'
import { deliveryIdOf } from '../src/webhooks/delivery-id.ts'
import { parseJsonBody } from '../src/webhooks/json-body.ts'
import { createRateLimiter } from '../src/webhooks/rate-limiter.ts'
import { createReplayWindow } from '../src/webhooks/replay-window.ts'

const NOW = new Date('2031-03-03T09:00:00.000Z')
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString()

describe('replay window', () => {
  const window = createReplayWindow({ windowMs: 15 * 60_000, clock: () => NOW })

  it('accepts createdAt from the window up to five minutes ahead', () => {
    for (const createdAt of [at(0), at(-15 * 60_000), at(5 * 60_000), '2031-03-03T10:00:00+01:00']) {
      expect(window.check(createdAt), createdAt).toEqual({ ok: true })
    }
  })

  it('refuses older, too far ahead, or unreadable createdAt as stale', () => {
    for (const createdAt of [at(-15 * 60_000 - 1), at(5 * 60_000 + 1), 'not a time']) {
      expect(window.check(createdAt)).toMatchObject({ ok: false, code: 'stale_delivery' })
    }
    expect(window.check(at(-16 * 60_000))).toMatchObject({
      message: 'createdAt is older than the replay window of 15m',
    })
  })
})

describe('rate limiter', () => {
  it('lets a full burst through, then refills at the configured rate per key', () => {
    let now = NOW
    const limiter = createRateLimiter({ perMinute: 60, clock: () => now })
    for (let i = 0; i < 60; i++) expect(limiter.take('a')).toEqual({ ok: true })
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 })
    expect(limiter.take('b')).toEqual({ ok: true })
    now = new Date(NOW.getTime() + 1000)
    expect(limiter.take('a')).toEqual({ ok: true })
    expect(limiter.take('a')).toMatchObject({ ok: false })
    // A clock stepping back mints nothing.
    now = NOW
    expect(limiter.take('a')).toMatchObject({ ok: false })
  })

  it('rounds Retry-After up to whole seconds', () => {
    const limiter = createRateLimiter({ perMinute: 1, clock: () => NOW })
    expect(limiter.take('a')).toEqual({ ok: true })
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 60 })
  })
})

describe('delivery id and JSON body', () => {
  it('is the SHA-256 of tenant and exact bytes', () => {
    const raw = Buffer.from('{"a":1}')
    expect(deliveryIdOf('acme', raw)).toMatch(/^[0-9a-f]{64}$/)
    expect(deliveryIdOf('acme', raw)).toBe(deliveryIdOf('acme', Buffer.from('{"a":1}')))
    expect(deliveryIdOf('acme', raw)).not.toBe(deliveryIdOf('bright', raw))
    expect(deliveryIdOf('acme', raw)).not.toBe(deliveryIdOf('acme', Buffer.from('{"a": 1}')))
  })

  it('parses JSON and refuses __proto__ keys', () => {
    expect(parseJsonBody(Buffer.from('{"a":[1,{"b":null}]}'))).toEqual({ ok: true, value: { a: [1, { b: null }] } })
    expect(parseJsonBody(Buffer.from('{"a":'))).toEqual({ ok: false })
    expect(parseJsonBody(Buffer.from('{"a":{"__proto__":{"x":1}}}'))).toEqual({ ok: false })
    // Escaped, the key is still __proto__ once parsed.
    expect(parseJsonBody(Buffer.from('{"a":[{"\\u005f_proto__":{"x":1}}]}'))).toEqual({ ok: false })
    expect(parseJsonBody(Buffer.from('{"\\u005F\\u005Fproto\\u005f\\u005f" :1}'))).toEqual({ ok: false })
    // The word alone, as a value or inside another key, is data like any other.
    expect(parseJsonBody(Buffer.from('{"note":"__proto__","x__proto__":1}'))).toEqual({
      ok: true,
      value: { note: '__proto__', x__proto__: 1 },
    })
    // A sub-array of a larger buffer parses only its own bytes.
    const framed = Buffer.from('xx{"a":1}yy').subarray(2, 9)
    expect(parseJsonBody(framed)).toEqual({ ok: true, value: { a: 1 } })
  })
})
