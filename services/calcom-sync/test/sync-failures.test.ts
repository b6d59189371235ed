import { CALSYNC_METADATA, type ReviewRequest } from '@calsync/contracts'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { type Stack, startStack } from '../../../test/support/stack.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'

const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const attendee = { name: 'Sam Park', email: 'sam@example.org', timeZone: 'UTC' }

describe('calcom-sync retries and terminal failures', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ backoffMs: [50, 100, 150] })
  })
  afterAll(() => stack.close())
  beforeEach(() => stack.sandbox.reset())

  const create = async (day: number, hour: number) =>
    (
      await stack.appointments.api(ADMIN, 'POST', '/v1/appointments', {
        eventTypeId: 1001,
        start: futureSlot(day, hour),
        attendee,
      })
    ).json()

  const settledStatus = (id: string, status: string) =>
    eventually(`sync ${status}`, async () => {
      const current = (await stack.appointments.api(ADMIN, 'GET', `/v1/appointments/${id}/sync-status`)).json()
      return current.status === status ? current : undefined
    })

  const createCalls = () =>
    stack.sandbox.requests().filter((request) => request.method === 'POST' && request.path === '/v2/bookings')

  it('retries two 503s and succeeds on the third attempt', async () => {
    stack.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { status: 503 }, 2)
    const created = await create(0, 9)
    const status = await settledStatus(created.id, 'synced')
    expect(status).toMatchObject({ attempts: 3, errorCode: null, requiresManualReview: false })
    expect(createCalls().map((request) => request.status)).toEqual([503, 503, 201])
    expect(stack.sandbox.bookings()).toHaveLength(1)
  })

  it('gives up after four 500s: failed, flagged, and sent to review with the error code', async () => {
    stack.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { status: 500 }, 4)
    const created = await create(0, 11)
    const status = await settledStatus(created.id, 'failed')
    expect(status).toMatchObject({ attempts: 4, errorCode: 'calcom_server_error', requiresManualReview: true })
    expect(status.flaggedAt).toEqual(expect.any(String))
    expect(createCalls()).toHaveLength(4)
    const review = await eventually('the review request', async () => {
      const found = (await stack.appointments.reviews()).filter(
        (message) =>
          (message.body as ReviewRequest).kind === 'sync_failed' && message.body.appointmentIds.includes(created.id),
      )
      return found.length > 0 ? found : undefined
    })
    expect(review).toHaveLength(1)
    expect(review[0]?.body).toMatchObject({ errorCode: 'calcom_server_error', attempts: 4, tenantId: 'acme-dental' })
  })

  it('stops at once on a 400 (slot taken) and on a 401', async () => {
    // Someone took the slot on Cal.com directly, before calsync's booking got there.
    const taken = await fetch(`${stack.sandboxUrl}/v2/bookings`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_SECRETS.ACME_CALCOM_API_KEY}`,
        'cal-api-version': '2024-08-13',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        start: futureSlot(1, 9),
        eventTypeId: 1001,
        attendee: { name: 'X', email: 'x@example.org', timeZone: 'UTC' },
      }),
    })
    expect(taken.status).toBe(201)
    const clash = await create(1, 9)
    // Cal.com's webhook for that booking also reaches calsync: a double booking (I2), shown as
    // `conflict` over the failed sync, whichever of the two lands first.
    const clashStatus = await eventually('the slot-taken failure', async () => {
      const current = (await stack.appointments.api(ADMIN, 'GET', `/v1/appointments/${clash.id}/sync-status`)).json()
      return current.errorCode === 'calcom_slot_taken' && current.status !== 'pending' ? current : undefined
    })
    expect(clashStatus).toMatchObject({ attempts: 1, requiresManualReview: true })
    expect(['failed', 'conflict']).toContain(clashStatus.status)

    stack.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { status: 401 }, 1)
    const unauthorized = await create(1, 11)
    expect(await settledStatus(unauthorized.id, 'failed')).toMatchObject({
      attempts: 1,
      errorCode: 'calcom_unauthorized',
    })
  })

  it('waits for the rate-limit reset on a 429 without spending an attempt', async () => {
    stack.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { status: 429 }, 1)
    const created = await create(2, 9)
    const status = await settledStatus(created.id, 'synced')
    expect(status.attempts).toBe(1)
    const calls = createCalls()
    expect(calls.map((request) => request.status)).toEqual([429, 201])
    // The sandbox answered "reset in 1 s": the retry came no sooner.
    expect(Date.parse(calls[1]?.at ?? '') - Date.parse(calls[0]?.at ?? '')).toBeGreaterThanOrEqual(900)
  })

  it('keeps exactly one booking when Cal.com commits and the answer is lost', async () => {
    stack.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { commitThenDrop: true }, 1)
    const created = await create(3, 9)
    const status = await settledStatus(created.id, 'synced')
    const ours = stack.sandbox
      .bookings()
      .filter((booking) => booking.metadata[CALSYNC_METADATA.appointmentId] === created.id)
    expect(ours).toHaveLength(1)
    expect(status.calcomBookingUid).toBe(ours[0]?.uid)
    expect(createCalls()).toHaveLength(1)
  })
})
