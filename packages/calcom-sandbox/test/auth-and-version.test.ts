import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACME_KEY, futureSlot, type SandboxHarness, startSandbox } from './support/sandbox-harness.ts'

describe('authentication and cal-api-version', () => {
  let h: SandboxHarness
  beforeAll(async () => {
    h = await startSandbox()
  })
  afterAll(() => h.close())

  const routes = [
    ['GET', '/v2/bookings'],
    ['GET', '/v2/bookings/q3XbT9vLwK2mRzP8hD4sYe'],
    ['POST', '/v2/bookings'],
    ['POST', '/v2/bookings/q3XbT9vLwK2mRzP8hD4sYe/cancel'],
    ['POST', '/v2/bookings/q3XbT9vLwK2mRzP8hD4sYe/reschedule'],
  ] as const

  it('answers 401 in the Cal.com error envelope when no API key is sent', async () => {
    for (const [method, path] of routes) {
      const answer = await h.call(method, path, { key: null, body: method === 'POST' ? {} : undefined })
      expect(answer.status, `${method} ${path}`).toBe(401)
      expect(answer.body).toMatchObject({
        status: 'error',
        path,
        error: { code: 'UnauthorizedException', message: expect.stringMatching(/^No authentication method provided/) },
      })
      expect(Number.isNaN(Date.parse(answer.body.timestamp))).toBe(false)
    }
    const basic = await h.call('GET', '/v2/bookings', { key: null, headers: { authorization: 'Basic dXNlcjpwdw==' } })
    expect(basic.body.error.message).toMatch(/^No authentication method provided/)
  })

  it('answers 401 "Your api key is not valid" for an unknown key', async () => {
    const answer = await h.call('GET', '/v2/bookings', { key: 'cal_test_not_a_key' })
    expect(answer.status).toBe(401)
    expect(answer.body.error).toEqual({ code: 'UnauthorizedException', message: 'Your api key is not valid' })
  })

  it('takes the scheme word in any case', async () => {
    const answer = await h.call('GET', '/v2/bookings', { key: null, headers: { authorization: `bearer ${ACME_KEY}` } })
    expect(answer.status).toBe(200)
  })

  it('refuses every booking call without cal-api-version 2024-08-13, loudly instead of falling back', async () => {
    for (const version of [null, '2024-04-15', '2024-06-14']) {
      for (const [method, path] of routes) {
        const answer = await h.call(method, path, { version, body: method === 'POST' ? {} : undefined })
        expect(answer.status, `${method} ${path} with ${version}`).toBe(400)
        expect(answer.body.error.code).toBe('BadRequestException')
        expect(answer.body.error.message).toContain('2024-08-13')
        expect(answer.body.error.message).toContain('2024-04-15')
      }
    }
    // Nothing was booked by the refused creates.
    expect(h.sandbox.bookings()).toHaveLength(0)
    const proper = await h.book(futureSlot(0, 9))
    expect(proper.status).toBe(201)
  })

  it('answers unknown routes with a Nest-style 404 envelope', async () => {
    const answer = await h.call('GET', '/v2/nothing-here')
    expect(answer.status).toBe(404)
    expect(answer.body).toMatchObject({ status: 'error', error: { code: 'NotFoundException' } })
  })
})
