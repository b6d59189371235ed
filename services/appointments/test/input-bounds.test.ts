import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'

const PHONE = TEST_SECRETS.ACME_PHONE_TOKEN
const attendee = { name: 'Dana Reyes', email: 'dana@example.org', timeZone: 'Europe/Berlin' }

describe('appointments list time bounds', () => {
  let h: AppointmentsHarness
  let baseUrl: string
  beforeAll(async () => {
    h = await startAppointmentsHarness()
    // A real socket, so the query string goes through Node's HTTP parser as a client's would.
    await h.app.listen({ host: '127.0.0.1', port: 0 })
    baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`
  })
  afterAll(() => h.close())

  async function list(query: Record<string, string>) {
    const response = await fetch(`${baseUrl}/v1/appointments?${new URLSearchParams(query)}`, {
      headers: { authorization: `Bearer ${PHONE}` },
    })
    return { statusCode: response.status, body: (await response.json()) as Record<string, unknown> }
  }

  const valid = '2030-06-30T00:00:00Z'
  // Each passes the route's `date-time` schema, yet no Date holds it as written.
  const unreadable = [
    ['a leap second', '2030-06-30T23:59:60Z'],
    ['an instant past year 9999 in UTC', '9999-12-31T23:59:59-01:00'],
  ] as const

  for (const field of ['from', 'to'] as const) {
    const other = field === 'from' ? 'to' : 'from'
    it.each(unreadable)(`answers 400 bad_request, not 500, for ${field} as %s`, async (_name, text) => {
      const response = await list({ [field]: text, [other]: valid })
      expect(response.statusCode).toBe(400)
      expect(response.body).toMatchObject({ error: 'bad_request' })
      expect(response.body.message).toMatch(new RegExp(`^${field} must be an RFC 3339 date-time`))
    })
  }

  it('still lists with valid bounds, whatever offset they are written in', async () => {
    const start = futureSlot(3, 11)
    const created = await h.api(PHONE, 'POST', '/v1/appointments', { eventTypeId: 1001, start, attendee })
    expect(created.statusCode).toBe(201)
    const { id } = created.json() as { id: string }

    const startMs = Date.parse(start)
    // Thirty minutes before the start, written in UTC+02:00: the same instant the store compares.
    const local = new Date(startMs + 90 * 60_000).toISOString().replace('.000Z', '+02:00')
    const response = await list({ from: local, to: new Date(startMs + 60 * 60_000).toISOString() })
    expect(response.statusCode).toBe(200)
    const items = response.body.items as { id: string }[]
    expect(items.map((item) => item.id)).toContain(id)

    expect((await list({})).statusCode).toBe(200)
  })
})
