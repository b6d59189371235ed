import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'

const PHONE = TEST_SECRETS.ACME_PHONE_TOKEN
const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const BRIGHT = TEST_SECRETS.BRIGHT_API_TOKEN
const attendee = { name: 'Dana Reyes', email: 'dana@example.org', timeZone: 'Europe/Berlin' }

describe('appointments API', () => {
  let h: AppointmentsHarness
  beforeAll(async () => {
    h = await startAppointmentsHarness()
  })
  afterAll(() => h.close())

  const create = (token: string, start: string, eventTypeId = 1001, headers: Record<string, string> = {}) =>
    h.api(token, 'POST', '/v1/appointments', { eventTypeId, start, attendee }, headers)

  it('creates an appointment tagged with the token origin and emits one booked event', async () => {
    const response = await create(PHONE, futureSlot(0, 9))
    expect(response.statusCode).toBe(201)
    const appointment = response.json()
    expect(appointment).toMatchObject({
      tenantId: 'acme-dental',
      eventTypeId: 1001,
      resource: 'dr-jones',
      status: 'booked',
      origin: 'retell',
      version: 1,
      calcomBookingUid: null,
      sync: { status: 'pending', attempts: 0, requiresManualReview: false },
    })
    expect(Date.parse(appointment.end) - Date.parse(appointment.start)).toBe(30 * 60_000)
    const events = await eventually('the booked event', async () => {
      const found = await h.events(appointment.id)
      return found.length === 1 ? found : undefined
    })
    expect(events[0]?.body).toMatchObject({ type: 'appointment.booked', version: 1, origin: 'retell' })
    expect(events[0]?.msgId).toBe(events[0]?.body.eventId)
    expect(events[0]?.subject).toBe(h.names.subjects.appointmentEvent('acme-dental', 'booked'))
    const read = await h.api(PHONE, 'GET', `/v1/appointments/${appointment.id}`)
    expect(read.json()).toMatchObject({ id: appointment.id, version: 1 })
  })

  it('lets exactly one of 50 concurrent overlapping creates win (I1)', async () => {
    const base = Date.parse(futureSlot(1, 10))
    const starts = Array.from({ length: 50 }, (_, i) => new Date(base + (i % 5) * 5 * 60_000).toISOString())
    const responses = await Promise.all(starts.map((start) => create(PHONE, start)))
    const codes = responses.map((response) => response.statusCode)
    expect(codes.filter((code) => code === 201)).toHaveLength(1)
    expect(codes.filter((code) => code === 409)).toHaveLength(49)
    for (const response of responses.filter((r) => r.statusCode === 409)) {
      expect(response.json().error).toBe('slot_unavailable')
    }
    const listed = await h.api(
      PHONE,
      'GET',
      `/v1/appointments?from=${new Date(base).toISOString()}&to=${new Date(base + 3_600_000).toISOString()}`,
    )
    expect(listed.json().items).toHaveLength(1)
  })

  it('allows touching slots and leaves other resources alone', async () => {
    const nine = futureSlot(2, 9)
    const nineThirty = futureSlot(2, 9, 30)
    expect((await create(PHONE, nine)).statusCode).toBe(201)
    expect((await create(PHONE, nineThirty)).statusCode).toBe(201)
    expect((await create(PHONE, futureSlot(2, 9, 15))).statusCode).toBe(409)
    // Same time, another resource of the same tenant (hygiene room), and another tenant.
    expect((await create(PHONE, nine, 1002)).statusCode).toBe(201)
    expect((await create(BRIGHT, nine, 2001)).statusCode).toBe(201)
  })

  it('refuses bad input with clear errors and changes nothing', async () => {
    await h.components.relay.runOnce()
    const before = (await h.events()).length
    const cases = [
      { body: { eventTypeId: 1001, start: 'tomorrow', attendee }, status: 400 },
      {
        body: { eventTypeId: 1001, start: futureSlot(3, 9, 0).replace(':00.000Z', ':30.000Z'), attendee },
        status: 400,
      },
      { body: { eventTypeId: 9999, start: futureSlot(3, 9), attendee }, status: 400, error: 'unknown_event_type' },
      { body: { eventTypeId: 2001, start: futureSlot(3, 9), attendee }, status: 400, error: 'unknown_event_type' },
      { body: { eventTypeId: 1001, start: '2001-01-01T10:00:00Z', attendee }, status: 400 },
      { body: { eventTypeId: 1001, start: futureSlot(3, 9), attendee: { name: 'x' } }, status: 400 },
      { body: { eventTypeId: 1001, start: futureSlot(3, 9), attendee, extra: true }, status: 400 },
    ]
    for (const testCase of cases) {
      const response = await h.api(PHONE, 'POST', '/v1/appointments', testCase.body)
      expect(response.statusCode, JSON.stringify(testCase.body)).toBe(testCase.status)
      expect(response.json()).toMatchObject({ error: testCase.error ?? 'bad_request', message: expect.any(String) })
    }
    expect((await h.api(undefined, 'GET', '/v1/appointments')).statusCode).toBe(401)
    const wrong = await h.api('not-a-real-token-at-all', 'GET', '/v1/appointments')
    expect(wrong.statusCode).toBe(401)
    expect(wrong.body).not.toContain('not-a-real-token-at-all')
    // Who is asking is settled before anything about the request is looked at.
    const anonymousGarbage = await h.api(undefined, 'POST', '/v1/appointments', { nonsense: true })
    expect(anonymousGarbage.statusCode).toBe(401)
    expect(anonymousGarbage.json().error).toBe('unauthorized')
    await h.components.relay.runOnce()
    expect((await h.events()).length).toBe(before)
  })

  it('returns the same appointment for the same Idempotency-Key', async () => {
    const start = futureSlot(4, 11)
    const first = await create(ADMIN, start, 1001, { 'idempotency-key': 'order-77' })
    const again = await create(ADMIN, start, 1001, { 'idempotency-key': 'order-77' })
    expect(first.statusCode).toBe(201)
    expect(again.statusCode).toBe(201)
    expect(again.json().id).toBe(first.json().id)
    const different = await create(ADMIN, futureSlot(4, 12), 1001, { 'idempotency-key': 'order-77' })
    expect(different.statusCode).toBe(409)
    expect(different.json().error).toBe('idempotency_conflict')
    // Another tenant's use of the same key is its own.
    expect((await create(BRIGHT, start, 2001, { 'idempotency-key': 'order-77' })).statusCode).toBe(201)
  })

  it('cancels and reschedules with one version and one event per change, in version order', async () => {
    const created = (await create(ADMIN, futureSlot(5, 9))).json()
    const moved = await h.api(ADMIN, 'POST', `/v1/appointments/${created.id}/reschedule`, { start: futureSlot(5, 14) })
    expect(moved.statusCode).toBe(200)
    expect(moved.json()).toMatchObject({ version: 2, start: futureSlot(5, 14), origin: 'admin' })
    // The old slot is free again, the new one is taken.
    const other = await create(PHONE, futureSlot(5, 9))
    expect(other.statusCode).toBe(201)
    expect((await create(PHONE, futureSlot(5, 14, 15))).statusCode).toBe(409)
    const cancelled = await h.api(ADMIN, 'POST', `/v1/appointments/${created.id}/cancel`, { reason: 'patient called' })
    expect(cancelled.json()).toMatchObject({ version: 3, status: 'cancelled' })
    // Cancelling twice changes nothing; a cancelled appointment cannot move.
    expect((await h.api(ADMIN, 'POST', `/v1/appointments/${created.id}/cancel`, {})).json().version).toBe(3)
    const refused = await h.api(ADMIN, 'POST', `/v1/appointments/${created.id}/reschedule`, {
      start: futureSlot(5, 16),
    })
    expect(refused.statusCode).toBe(409)
    expect((await create(PHONE, futureSlot(5, 14))).statusCode).toBe(201)

    const events = await eventually('three events', async () => {
      const found = await h.events(created.id)
      return found.length === 3 ? found : undefined
    })
    expect(events.map((event) => [event.body.type, event.body.version])).toEqual([
      ['appointment.booked', 1],
      ['appointment.rescheduled', 2],
      ['appointment.cancelled', 3],
    ])
    expect(events.map((event) => event.seq)).toEqual([...events.map((event) => event.seq)].sort((a, b) => a - b))
  })

  it('keeps tenants apart on every route (I6)', async () => {
    const mine = (await create(PHONE, futureSlot(6, 9))).json()
    const routes = [
      ['GET', `/v1/appointments/${mine.id}`],
      ['GET', `/v1/appointments/${mine.id}/sync-status`],
      ['POST', `/v1/appointments/${mine.id}/cancel`, {}],
      ['POST', `/v1/appointments/${mine.id}/reschedule`, { start: futureSlot(6, 15) }],
    ] as const
    for (const [method, url, body] of routes) {
      const response = await h.api(BRIGHT, method, url, body)
      expect(response.statusCode, `${method} ${url}`).toBe(404)
      expect(response.json().error).toBe('not_found')
    }
    const list = await h.api(BRIGHT, 'GET', '/v1/appointments?status=booked')
    expect(list.json().items.every((item: { tenantId: string }) => item.tenantId === 'bright-smiles')).toBe(true)
    const after = (await h.api(PHONE, 'GET', `/v1/appointments/${mine.id}`)).json()
    expect(after).toMatchObject({ version: 1, status: 'booked', start: futureSlot(6, 9) })
  })

  it('pages through a listing with a stable cursor', async () => {
    const day = 7
    for (const hour of [8, 9, 10, 11, 12]) expect((await create(ADMIN, futureSlot(day, hour))).statusCode).toBe(201)
    const from = futureSlot(day, 0)
    const to = futureSlot(day, 23)
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const query: string = `/v1/appointments?from=${from}&to=${to}&limit=2${cursor ? `&cursor=${cursor}` : ''}`
      const page = (await h.api(ADMIN, 'GET', query)).json()
      seen.push(...page.items.map((item: { start: string }) => item.start))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen).toEqual([8, 9, 10, 11, 12].map((hour) => futureSlot(day, hour)))
    expect((await h.api(ADMIN, 'GET', '/v1/appointments?cursor=garbage')).statusCode).toBe(400)
  })

  it('keeps sync-status true from sync results', async () => {
    const created = (await create(PHONE, futureSlot(8, 9))).json()
    const base = { tenantId: 'acme-dental', appointmentId: created.id, version: 1 }
    await h.publishSyncResult({
      type: 'sync.attempt_failed',
      ...base,
      attempt: 1,
      at: new Date().toISOString(),
      errorCode: 'calcom_server_error',
      errorMessage: 'HTTP 503',
    })
    await eventually('the failed attempt', async () => {
      const status = (await h.api(PHONE, 'GET', `/v1/appointments/${created.id}/sync-status`)).json()
      return status.attempts === 1 ? status : undefined
    })
    await h.publishSyncResult({
      type: 'sync.succeeded',
      ...base,
      attempt: 2,
      at: new Date().toISOString(),
      calcomBookingUid: 'uid-synced-1',
    })
    const status = await eventually('synced', async () => {
      const current = (await h.api(PHONE, 'GET', `/v1/appointments/${created.id}/sync-status`)).json()
      return current.status === 'synced' ? current : undefined
    })
    expect(status).toMatchObject({
      status: 'synced',
      origin: 'retell',
      attempts: 2,
      errorCode: null,
      requiresManualReview: false,
      calcomBookingUid: 'uid-synced-1',
      initiatedBy: { origin: 'retell' },
    })
    expect(status.verifiedAt).toEqual(expect.any(String))

    const failing = (await create(PHONE, futureSlot(8, 11))).json()
    await h.publishSyncResult({
      type: 'sync.failed',
      tenantId: 'acme-dental',
      appointmentId: failing.id,
      version: 1,
      attempt: 4,
      at: new Date().toISOString(),
      errorCode: 'calcom_server_error',
      errorMessage: 'HTTP 500',
    })
    const failed = await eventually('failed', async () => {
      const current = (await h.api(PHONE, 'GET', `/v1/appointments/${failing.id}`)).json()
      return current.sync.status === 'failed' ? current : undefined
    })
    expect(failed.sync).toMatchObject({ attempts: 4, errorCode: 'calcom_server_error', requiresManualReview: true })
  })
})
