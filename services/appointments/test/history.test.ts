import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook, signCalcom } from '../../../test/support/calcom-webhooks.ts'
import { eventually } from '../../../test/support/infra.ts'
import { type Stack, startStack } from '../../../test/support/stack.ts'
import { ACME, futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import type { HistoryEntry } from '../src/history/history-entries.ts'

const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const attendee = { name: 'Ines Kahn', email: 'ines@example.org', timeZone: 'Europe/Berlin' }
const at = (hour: number) => futureSlot(21, hour)

describe('GET /v1/appointments/{id}/history', () => {
  let s: Stack
  beforeAll(async () => {
    s = await startStack()
  })
  afterAll(async () => {
    await s?.close()
  })

  const api = (token: string, method: 'GET' | 'POST', url: string, body?: unknown) =>
    s.appointments.api(token, method, url, body)
  async function settled() {
    await s.sandbox.flushWebhooks()
    await eventually('the consumers to drain', async () => ((await s.appointments.consumersIdle()) ? true : undefined))
  }
  const synced = (id: string, version: number) =>
    eventually(`${id} v${version} synced`, async () => {
      const status = (await api(ADMIN, 'GET', `/v1/appointments/${id}/sync-status`)).json()
      return status.status === 'synced' && status.syncedVersion === version ? status : undefined
    })

  it('tells a changed, retried and conflicted appointment as the story it was, in order', async () => {
    // Cal.com refuses the first create with a 503: one failed attempt, then the retry succeeds.
    s.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { status: 503 }, 1)
    const created = (await api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1001, start: at(9), attendee })).json()
    const first = await synced(created.id, 1)
    await settled()
    await api(ADMIN, 'POST', `/v1/appointments/${created.id}/reschedule`, { start: at(11) })
    const second = await synced(created.id, 2)
    await settled()
    // A customer's booking of the same slot arrives from Cal.com (its host let it through): a double booking.
    const raw = JSON.stringify(
      bookingWebhook('BOOKING_CREATED', { uid: 'hist-customer', eventTypeId: 1001, start: at(11) }),
    )
    const response = await fetch(`${s.gatewayUrl}/webhooks/calcom/${ACME}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-cal-signature-256': signCalcom(raw, TEST_SECRETS.ACME_WEBHOOK_SECRET),
      },
      body: raw,
    })
    expect(response.status).toBe(202)
    await settled()

    const history = (await api(ADMIN, 'GET', `/v1/appointments/${created.id}/history`)).json() as {
      entries: HistoryEntry[]
    }
    const story = history.entries.map((entry) => `${entry.what}: ${entry.detail}`)
    expect(story).toEqual([
      `created: booked ${at(9)} – ${futureSlot(21, 9, 30)} on dr-jones`,
      expect.stringMatching(/^sync_attempt: attempt 1: failed \(calcom_server_error: .*\), will retry$/),
      'sync_attempt: attempt 2: succeeded on Cal.com (created)',
      "echo: BOOKING_CREATED recognised as calsync's own change",
      `moved: moved from ${at(9)} to ${at(11)}`,
      'sync_attempt: attempt 1: succeeded on Cal.com (rescheduled)',
      "echo: BOOKING_RESCHEDULED recognised as calsync's own change",
      expect.stringMatching(/^conflict: double booking with apt_c\w+ reported for review$/),
    ])
    const byWhat = (what: string) => history.entries.filter((entry) => entry.what === what)
    expect(byWhat('created')[0]).toMatchObject({ who: expect.stringMatching(/^admin token /), version: 1 })
    // The move names the booking it moved away from; its sync, the booking Cal.com moved it to.
    expect(byWhat('moved')[0]).toMatchObject({ version: 2, bookingUid: first.calcomBookingUid })
    expect(byWhat('sync_attempt')[1]).toMatchObject({ bookingUid: first.calcomBookingUid, who: 'calcom-sync' })
    expect(byWhat('sync_attempt')[2]).toMatchObject({ bookingUid: second.calcomBookingUid, version: 2 })
    // In time order, whatever order the messages were taken in.
    const times = history.entries.map((entry) => Date.parse(entry.at))
    expect(times).toEqual([...times].sort((a, b) => a - b))

    // Tenant-scoped: another tenant's token cannot tell it exists.
    const foreign = await api(TEST_SECRETS.BRIGHT_API_TOKEN, 'GET', `/v1/appointments/${created.id}/history`)
    expect(foreign.statusCode).toBe(404)
    expect(foreign.json()).toMatchObject({ error: 'not_found' })
  })
})
