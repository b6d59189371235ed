import { CALSYNC_METADATA, type SyncAction } from '@calsync/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook } from '../../../test/support/calcom-webhooks.ts'
import { eventually } from '../../../test/support/infra.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'

const ACME = 'acme-dental'
const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const attendee = { name: 'Dana Reyes', email: 'dana@example.org', timeZone: 'Europe/Berlin' }

describe('Cal.com webhooks into appointments', () => {
  let h: AppointmentsHarness
  beforeAll(async () => {
    h = await startAppointmentsHarness()
  })
  afterAll(() => h.close())

  async function settle() {
    await eventually('the consumers to drain', async () => ((await h.consumersIdle()) ? true : undefined))
    await h.components.relay.runOnce()
  }

  /** calcom-sync's result for a version: what it did on Cal.com. */
  function succeeded(id: string, version: number, fact: { action: SyncAction; uid: string; previous?: string }) {
    return h.publishSyncResult({
      type: 'sync.succeeded',
      tenantId: ACME,
      appointmentId: id,
      version,
      attempt: 1,
      at: new Date().toISOString(),
      eventId: `${id}:v${version}`,
      calcomBookingUid: fact.uid,
      action: fact.action,
      previousBookingUid: fact.previous ?? null,
    })
  }

  async function byUid(uid: string) {
    const list = (await h.api(ADMIN, 'GET', '/v1/appointments?limit=200')).json()
    return list.items.filter((item: { calcomBookingUid: string }) => item.calcomBookingUid === uid)
  }

  it('creates an appointment with origin calcom; a redelivery changes nothing', async () => {
    const webhook = bookingWebhook('BOOKING_CREATED', { uid: 'cal-uid-1', eventTypeId: 1001, start: futureSlot(0, 9) })
    await h.deliverWebhook(ACME, webhook)
    const [created] = await eventually('the appointment', async () => {
      const found = await byUid('cal-uid-1')
      return found.length === 1 ? found : undefined
    })
    expect(created).toMatchObject({ origin: 'calcom', status: 'booked', version: 1, sync: { status: 'synced' } })
    // Cal.com retries deliver the same booking again under a new delivery id.
    await h.deliverWebhook(ACME, webhook)
    await settle()
    expect(await byUid('cal-uid-1')).toHaveLength(1)
    expect(await h.events(created.id)).toHaveLength(1)
  })

  it('waits for the webhook that introduces a booking when a later one overtakes it', async () => {
    // Cal.com's second reschedule handled before its first: it must move the appointment, not make one.
    const first = futureSlot(12, 9)
    await h.deliverWebhook(ACME, bookingWebhook('BOOKING_CREATED', { uid: 'ooo-a', eventTypeId: 1001, start: first }))
    const [original] = await eventually('the booking', async () => {
      const found = await byUid('ooo-a')
      return found.length === 1 ? found : undefined
    })
    const hop = (uid: string, rescheduleUid: string, hour: number) =>
      bookingWebhook('BOOKING_RESCHEDULED', { uid, rescheduleUid, eventTypeId: 1001, start: futureSlot(12, hour) })
    await h.deliverWebhook(ACME, hop('ooo-c', 'ooo-b', 13))
    await h.deliverWebhook(ACME, hop('ooo-b', 'ooo-a', 11))
    const moved = await eventually('the second hop applied', async () => {
      const found = (await h.api(ADMIN, 'GET', `/v1/appointments/${original.id}`)).json()
      return found.version === 3 ? found : undefined
    })
    expect(moved).toMatchObject({ start: futureSlot(12, 13), status: 'booked', calcomBookingUid: 'ooo-c' })
    await settle()
    const list = (await h.api(ADMIN, 'GET', '/v1/appointments?limit=200')).json()
    const onThatDay = list.items.filter((item: { start: string }) => item.start.startsWith(first.slice(0, 10)))
    expect(onThatDay.map((item: { id: string }) => item.id)).toEqual([original.id])

    // A cancellation that overtakes the booking it cancels.
    const lone = bookingWebhook('BOOKING_CREATED', { uid: 'ooo-x', eventTypeId: 1002, start: futureSlot(12, 15) })
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_CANCELLED', { uid: 'ooo-x', eventTypeId: 1002, start: futureSlot(12, 15) }),
    )
    await h.deliverWebhook(ACME, lone)
    const cancelled = await eventually('the overtaken booking cancelled', async () => {
      const [found] = await byUid('ooo-x')
      return found?.status === 'cancelled' ? found : undefined
    })
    expect(cancelled).toMatchObject({ version: 2, origin: 'calcom' })
  })

  it('cancels and follows a reschedule chain of two hops', async () => {
    const start = futureSlot(1, 9)
    await h.deliverWebhook(ACME, bookingWebhook('BOOKING_CREATED', { uid: 'chain-a', eventTypeId: 1001, start }))
    const [original] = await eventually('the booking', async () => {
      const found = await byUid('chain-a')
      return found.length === 1 ? found : undefined
    })
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_RESCHEDULED', {
        uid: 'chain-b',
        rescheduleUid: 'chain-a',
        eventTypeId: 1001,
        start: futureSlot(1, 11),
      }),
    )
    await eventually('hop one', async () => ((await byUid('chain-b')).length === 1 ? true : undefined))
    // Handled in full, its new uid linked too: the projection shows the uid before the link is written.
    await settle()
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_RESCHEDULED', {
        uid: 'chain-c',
        rescheduleUid: 'chain-b',
        eventTypeId: 1001,
        start: futureSlot(1, 13),
      }),
    )
    // The sync state (and so the uid shown) is projected before the appointment itself.
    await settle()
    const [moved] = await eventually('hop two', async () => {
      const found = await byUid('chain-c')
      return found.length === 1 ? found : undefined
    })
    expect(moved).toMatchObject({ id: original.id, version: 3, start: futureSlot(1, 13), origin: 'calcom' })
    // The slots of the earlier hops are free again.
    const freed = await h.api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1001, start, attendee })
    expect(freed.statusCode).toBe(201)

    // A cancellation for an old uid of the chain is stale; for the current uid it cancels.
    await h.deliverWebhook(ACME, bookingWebhook('BOOKING_CANCELLED', { uid: 'chain-a', eventTypeId: 1001, start }))
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_CANCELLED', { uid: 'chain-c', eventTypeId: 1001, start: futureSlot(1, 13) }),
    )
    const cancelled = await eventually('the cancellation', async () => {
      const found = (await h.api(ADMIN, 'GET', `/v1/appointments/${original.id}`)).json()
      return found.status === 'cancelled' ? found : undefined
    })
    expect(cancelled.version).toBe(4)
    await settle()
    const events = await h.events(original.id)
    expect(events.map((event) => [event.body.type, event.body.version, event.body.origin])).toEqual([
      ['appointment.booked', 1, 'calcom'],
      ['appointment.rescheduled', 2, 'calcom'],
      ['appointment.rescheduled', 3, 'calcom'],
      ['appointment.cancelled', 4, 'calcom'],
    ])
  })

  it('recognises echoes of its own create, reschedule and cancel: nothing changes, nothing is emitted', async () => {
    const local = (
      await h.api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1001, start: futureSlot(2, 9), attendee })
    ).json()
    const metadata = {
      [CALSYNC_METADATA.appointmentId]: local.id,
      [CALSYNC_METADATA.tenantId]: ACME,
      videoCallUrl: 'https://cal.example/v',
    }

    // Create echo: Cal.com reports the booking calcom-sync made, before its sync result arrived.
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_CREATED', { uid: 'echo-1', eventTypeId: 1001, start: futureSlot(2, 9), metadata }),
    )
    // It waits for calcom-sync's result, which says what calsync did: then it is known as an echo.
    await succeeded(local.id, 1, { action: 'created', uid: 'echo-1' })
    await settle()
    let current = (await h.api(ADMIN, 'GET', `/v1/appointments/${local.id}`)).json()
    expect(current).toMatchObject({ version: 1, origin: 'admin' })
    expect(await h.components.store.linkedAppointmentId(ACME, 'echo-1')).toBe(local.id)

    // Reschedule echo: the local move first, then Cal.com's webhook for it with the new uid.
    await h.api(ADMIN, 'POST', `/v1/appointments/${local.id}/reschedule`, { start: futureSlot(2, 15) })
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_RESCHEDULED', {
        uid: 'echo-2',
        rescheduleUid: 'echo-1',
        eventTypeId: 1001,
        start: futureSlot(2, 15),
        metadata,
      }),
    )
    await succeeded(local.id, 2, { action: 'rescheduled', uid: 'echo-2', previous: 'echo-1' })
    await settle()
    current = (await h.api(ADMIN, 'GET', `/v1/appointments/${local.id}`)).json()
    expect(current).toMatchObject({ version: 2, origin: 'admin' })
    expect((await h.components.store.syncDoc(local.id))?.calcomBookingUid).toBe('echo-2')

    // Cancel echo: no metadata on cancellations; matched by the uid.
    await h.api(ADMIN, 'POST', `/v1/appointments/${local.id}/cancel`, {})
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_CANCELLED', { uid: 'echo-2', eventTypeId: 1001, start: futureSlot(2, 15) }),
    )
    await succeeded(local.id, 3, { action: 'cancelled', uid: 'echo-2', previous: 'echo-2' })
    await settle()
    current = (await h.api(ADMIN, 'GET', `/v1/appointments/${local.id}`)).json()
    expect(current).toMatchObject({ version: 3, status: 'cancelled', origin: 'admin' })

    const events = await h.events(local.id)
    expect(events.map((event) => event.body.origin)).toEqual(['admin', 'admin', 'admin'])
    expect(await byUid('echo-1')).toHaveLength(0)
    const list = (await h.api(ADMIN, 'GET', '/v1/appointments?limit=200')).json()
    expect(
      list.items.filter(
        (item: { origin: string; start: string }) =>
          item.origin === 'calcom' && item.start.startsWith(futureSlot(2, 9).slice(0, 10)),
      ),
    ).toHaveLength(0)
  })

  it('does not let a late echo of its own reschedule revive a cancelled appointment', async () => {
    const local = (
      await h.api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1001, start: futureSlot(5, 9), attendee })
    ).json()
    const metadata = { [CALSYNC_METADATA.appointmentId]: local.id }
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_CREATED', { uid: 'late-1', eventTypeId: 1001, start: futureSlot(5, 9), metadata }),
    )
    await succeeded(local.id, 1, { action: 'created', uid: 'late-1' })
    await settle()
    await h.api(ADMIN, 'POST', `/v1/appointments/${local.id}/reschedule`, { start: futureSlot(5, 15) })
    await h.api(ADMIN, 'POST', `/v1/appointments/${local.id}/cancel`, {})
    // Cal.com's webhook for the reschedule calcom-sync made arrives only now.
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_RESCHEDULED', {
        uid: 'late-2',
        rescheduleUid: 'late-1',
        eventTypeId: 1001,
        start: futureSlot(5, 15),
        metadata,
      }),
    )
    await succeeded(local.id, 2, { action: 'rescheduled', uid: 'late-2', previous: 'late-1' })
    await succeeded(local.id, 3, { action: 'cancelled', uid: 'late-2', previous: 'late-2' })
    await settle()
    const current = (await h.api(ADMIN, 'GET', `/v1/appointments/${local.id}`)).json()
    expect(current).toMatchObject({ version: 3, status: 'cancelled', origin: 'admin' })
    expect((await h.components.store.syncDoc(local.id))?.calcomBookingUid).toBe('late-2')
  })
})
