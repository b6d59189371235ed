import { THROTTLED_MESSAGE } from '@calsync/calcom-sandbox'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { BRIGHT_KEY, type SandboxHarness, startSandbox } from './support/sandbox-harness.ts'

describe('rate limiting per API key', () => {
  let h: SandboxHarness
  let now = Date.now()
  beforeAll(async () => {
    h = await startSandbox({ rateLimitPerMinute: 3, clock: () => new Date(now) })
  })
  afterAll(() => h.close())
  beforeEach(() => h.sandbox.reset())

  it('answers the 4th call of a minute with 429 ThrottlerException, headers on every answer, no Retry-After', async () => {
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await h.call('GET', '/v2/bookings'))
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429])
    expect(answers.map((answer) => answer.headers.get('x-ratelimit-remaining-default'))).toEqual(['2', '1', '0', '0'])
    for (const answer of answers) {
      expect(answer.headers.get('x-ratelimit-limit-default')).toBe('3')
      expect(Number(answer.headers.get('x-ratelimit-reset-default'))).toBeGreaterThan(0)
      expect(answer.headers.get('retry-after')).toBeNull()
    }
    expect(answers[3]?.body).toMatchObject({
      status: 'error',
      error: { code: 'ThrottlerException', message: THROTTLED_MESSAGE },
    })
    // Another key has its own budget.
    expect((await h.call('GET', '/v2/bookings', { key: BRIGHT_KEY })).status).toBe(200)
  })

  it('counts every booking route, refused ones included, and lets calls through again after the block', async () => {
    await h.call('GET', '/v2/bookings', { version: null })
    await h.call('POST', '/v2/bookings', { body: {} })
    await h.call('GET', '/v2/bookings/AAAAAAAAAAAAAAAAAAAAAA')
    expect((await h.call('GET', '/v2/bookings')).status).toBe(429)
    now += 59_000
    const blocked = await h.call('GET', '/v2/bookings')
    expect(blocked.status).toBe(429)
    expect(blocked.headers.get('x-ratelimit-reset-default')).toBe('1')
    now += 2_000
    expect((await h.call('GET', '/v2/bookings')).status).toBe(200)
  })

  it('starts a fresh window once a minute has passed', async () => {
    for (let i = 0; i < 3; i++) await h.call('GET', '/v2/bookings')
    now += 60_000
    const answer = await h.call('GET', '/v2/bookings')
    expect(answer.status).toBe(200)
    expect(answer.headers.get('x-ratelimit-remaining-default')).toBe('2')
  })

  it('forgets the counters on reset', async () => {
    for (let i = 0; i < 4; i++) await h.call('GET', '/v2/bookings')
    await h.control('POST', '/reset')
    expect((await h.call('GET', '/v2/bookings')).status).toBe(200)
  })
})
