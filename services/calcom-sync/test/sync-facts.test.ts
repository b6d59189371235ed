import type { AppointmentEvent, SyncResult } from '@calsync/contracts'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { type Stack, startStack } from '../../../test/support/stack.ts'
import { readStream } from '../../../test/support/streams.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'

const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const attendee = { name: 'Noor Haddad', email: 'noor@example.org', timeZone: 'UTC' }

type Succeeded = Extract<SyncResult, { type: 'sync.succeeded' }>

/**
 * The facts each published sync result carries about what calcom-sync itself did on Cal.com,
 * read back from the sync stream as the appointments service receives them.
 */
describe('calcom-sync reports what it did on Cal.com', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ backoffMs: [50, 100, 150] })
  })
  afterAll(() => stack.close())
  beforeEach(() => stack.sandbox.reset())

  const api = (method: 'POST', url: string, body: unknown) => stack.appointments.api(ADMIN, method, url, body)

  const create = async (start: string): Promise<string> =>
    (await api('POST', '/v1/appointments', { eventTypeId: 1001, start, attendee })).json().id

  async function results(appointmentId: string): Promise<SyncResult[]> {
    const stored = await readStream<SyncResult>(stack.appointments.jsm, stack.names.streams.sync)
    return stored.map((message) => message.body).filter((body) => body.appointmentId === appointmentId)
  }

  /** The success for one version, once it has been published. */
  const succeeded = (appointmentId: string, version: number) =>
    eventually(`sync.succeeded of ${appointmentId} v${version}`, async () =>
      (await results(appointmentId)).find(
        (result): result is Succeeded => result.type === 'sync.succeeded' && result.version === version,
      ),
    )

  async function eventIdOf(appointmentId: string, version: number): Promise<string> {
    const event = await eventually(`event v${version} of ${appointmentId}`, async () => {
      const events = await stack.appointments.events(appointmentId)
      return events.map((message) => message.body as AppointmentEvent).find((body) => body.version === version)
    })
    return event.eventId
  }

  const calls = (pattern: RegExp) =>
    stack.sandbox.requests().filter((request) => request.method === 'POST' && pattern.test(request.path))

  it('reports a local create, reschedule and cancel with the uids it worked on', async () => {
    const id = await create(futureSlot(0, 9))
    const created = await succeeded(id, 1)
    expect(created).toMatchObject({
      action: 'created',
      previousBookingUid: null,
      start: futureSlot(0, 9),
      eventId: await eventIdOf(id, 1),
    })
    const firstUid = created.calcomBookingUid
    expect(stack.sandbox.bookings().map((booking) => booking.uid)).toEqual([firstUid])

    await api('POST', `/v1/appointments/${id}/reschedule`, { start: futureSlot(0, 13) })
    const moved = await succeeded(id, 2)
    const successor = stack.sandbox.bookings().find((booking) => booking.uid === firstUid)?.rescheduledToUid
    expect(successor).toEqual(expect.any(String))
    expect(moved).toMatchObject({
      action: 'rescheduled',
      previousBookingUid: firstUid,
      calcomBookingUid: successor,
      start: futureSlot(0, 13),
      eventId: await eventIdOf(id, 2),
    })

    await api('POST', `/v1/appointments/${id}/cancel`, { reason: 'patient called' })
    const cancelled = await succeeded(id, 3)
    expect(cancelled).toMatchObject({
      action: 'cancelled',
      previousBookingUid: successor,
      calcomBookingUid: successor,
      eventId: await eventIdOf(id, 3),
    })
    expect(cancelled).not.toHaveProperty('start')
  })

  it('reports the booking an earlier attempt created, when the create answer was lost, as created', async () => {
    stack.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { commitThenDrop: true }, 1)
    const id = await create(futureSlot(1, 9))
    const result = await succeeded(id, 1)
    const ours = stack.sandbox.bookings()
    expect(ours).toHaveLength(1)
    expect(calls(/^\/v2\/bookings$/)).toHaveLength(1)
    const eventId = await eventIdOf(id, 1)
    expect(result).toMatchObject({
      action: 'created',
      previousBookingUid: null,
      calcomBookingUid: ours[0]?.uid,
      start: futureSlot(1, 9),
      attempt: 2,
      eventId,
    })
    expect((await results(id)).find((r) => r.type === 'sync.attempt_failed')).toMatchObject({ attempt: 1, eventId })
  })

  it('reports a reschedule whose answer was lost, recovered by following rescheduledToUid', async () => {
    const id = await create(futureSlot(2, 9))
    const firstUid = (await succeeded(id, 1)).calcomBookingUid
    stack.sandbox.addFault({ method: 'POST', path: '^/v2/bookings/[^/]+/reschedule' }, { commitThenDrop: true }, 1)
    await api('POST', `/v1/appointments/${id}/reschedule`, { start: futureSlot(2, 14) })
    const moved = await succeeded(id, 2)
    const successor = stack.sandbox.bookings().find((booking) => booking.uid === firstUid)?.rescheduledToUid
    expect(successor).toEqual(expect.any(String))
    // The retry looked and found the move done: one reschedule call, never a second move.
    expect(calls(/\/reschedule$/)).toHaveLength(1)
    const eventId = await eventIdOf(id, 2)
    expect(moved).toMatchObject({
      action: 'rescheduled',
      previousBookingUid: firstUid,
      calcomBookingUid: successor,
      start: futureSlot(2, 14),
      attempt: 2,
      eventId,
    })
    expect((await results(id)).find((r) => r.type === 'sync.attempt_failed')).toMatchObject({
      version: 2,
      attempt: 1,
      eventId,
    })
  })

  it('names the event on a terminal failure, and reports a cancel with nothing to cancel as unchanged', async () => {
    stack.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { status: 401 }, 1)
    const id = await create(futureSlot(3, 9))
    const failed = await eventually('sync.failed', async () =>
      (await results(id)).find((result) => result.type === 'sync.failed'),
    )
    expect(failed).toMatchObject({ version: 1, attempt: 1, eventId: await eventIdOf(id, 1) })

    await api('POST', `/v1/appointments/${id}/cancel`, { reason: 'never booked' })
    const cancelled = await succeeded(id, 2)
    expect(cancelled).toMatchObject({
      action: 'unchanged',
      previousBookingUid: null,
      calcomBookingUid: null,
      eventId: await eventIdOf(id, 2),
    })
    expect(cancelled).not.toHaveProperty('start')
    expect(stack.sandbox.bookings()).toHaveLength(0)
  })
})
