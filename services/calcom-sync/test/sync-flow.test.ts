import { CALSYNC_METADATA } from '@calsync/contracts'
import { startTelemetry, type Telemetry } from '@calsync/service-kit'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { bookingWebhook, signCalcom } from '../../../test/support/calcom-webhooks.ts'
import { eventually } from '../../../test/support/infra.ts'
import { type Stack, startStack } from '../../../test/support/stack.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'

const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const PHONE = TEST_SECRETS.ACME_PHONE_TOKEN
const attendee = { name: 'Dana Reyes', email: 'dana@example.org', timeZone: 'Europe/Berlin' }

describe('calsync → Cal.com (sandbox)', () => {
  let stack: Stack
  let telemetry: Telemetry
  beforeAll(async () => {
    telemetry = startTelemetry({ serviceName: 'calsync-test' })
    stack = await startStack()
  })
  afterAll(async () => {
    await stack.close()
    await telemetry.shutdown()
  })
  beforeEach(() => stack.sandbox.reset())

  const api = (token: string, method: 'GET' | 'POST', url: string, body?: unknown, headers?: Record<string, string>) =>
    stack.appointments.api(token, method, url, body, headers)

  async function syncStatus(id: string) {
    return (await api(ADMIN, 'GET', `/v1/appointments/${id}/sync-status`)).json()
  }

  async function until(id: string, status: string) {
    return eventually(`appointment ${id} to be ${status}`, async () => {
      const current = await syncStatus(id)
      return current.status === status ? current : undefined
    })
  }

  /** Waits until echoes have been delivered and applied, then returns the whole appointment list. */
  async function settled() {
    await stack.sandbox.flushWebhooks()
    await eventually('the consumers to drain', async () =>
      (await stack.appointments.consumersIdle()) ? true : undefined,
    )
    await stack.appointments.components.relay.runOnce()
    return (await api(ADMIN, 'GET', '/v1/appointments?limit=200')).json().items as Array<{ id: string; origin: string }>
  }

  it('creates exactly one booking for a local appointment; its echo changes nothing', async () => {
    const created = (
      await api(PHONE, 'POST', '/v1/appointments', { eventTypeId: 1001, start: futureSlot(0, 9), attendee })
    ).json()
    const status = await until(created.id, 'synced')
    const bookings = stack.sandbox
      .bookings('acme-dental')
      .filter((booking) => booking.metadata[CALSYNC_METADATA.appointmentId] === created.id)
    expect(bookings).toHaveLength(1)
    expect(bookings[0]).toMatchObject({
      eventTypeId: 1001,
      start: futureSlot(0, 9),
      status: 'accepted',
      attendees: [
        expect.objectContaining({ name: 'Dana Reyes', email: 'dana@example.org', timeZone: 'Europe/Berlin' }),
      ],
      metadata: { calsyncAppointmentId: created.id, calsyncTenantId: 'acme-dental', calsyncOrigin: 'retell' },
    })
    expect(status).toMatchObject({ calcomBookingUid: bookings[0]?.uid, attempts: 1, errorCode: null })

    const items = await settled()
    expect(stack.sandbox.webhooks().filter((delivery) => delivery.trigger === 'BOOKING_CREATED')).toHaveLength(1)
    expect(stack.sandbox.webhooks()[0]?.status).toBe(202)
    expect(items.filter((item) => item.origin === 'calcom')).toHaveLength(0)
    expect(await stack.appointments.events(created.id)).toHaveLength(1)
    // Every call carried the API version header, with the tenant's own key.
    expect(stack.sandbox.requests().every((request) => request.calApiVersion === '2024-08-13')).toBe(true)
  })

  it('carries local cancel and reschedule to Cal.com and follows the new uid; echoes change nothing', async () => {
    const created = (
      await api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1001, start: futureSlot(1, 9), attendee })
    ).json()
    const first = await until(created.id, 'synced')
    await api(ADMIN, 'POST', `/v1/appointments/${created.id}/reschedule`, { start: futureSlot(1, 13) })
    const moved = await eventually('the new uid', async () => {
      const current = await syncStatus(created.id)
      return current.status === 'synced' && current.calcomBookingUid !== first.calcomBookingUid ? current : undefined
    })
    const old = stack.sandbox.bookings().find((booking) => booking.uid === first.calcomBookingUid)
    expect(old).toMatchObject({ status: 'cancelled', rescheduledToUid: moved.calcomBookingUid })
    expect(stack.sandbox.bookings().find((booking) => booking.uid === moved.calcomBookingUid)).toMatchObject({
      status: 'accepted',
      start: futureSlot(1, 13),
      metadata: { calsyncAppointmentId: created.id },
    })

    await api(ADMIN, 'POST', `/v1/appointments/${created.id}/cancel`, { reason: 'patient called' })
    await eventually('the cancellation on Cal.com', async () =>
      stack.sandbox.bookings().find((booking) => booking.uid === moved.calcomBookingUid)?.status === 'cancelled'
        ? true
        : undefined,
    )
    await until(created.id, 'synced')
    const items = await settled()
    expect(items.filter((item) => item.origin === 'calcom')).toHaveLength(0)
    const events = await stack.appointments.events(created.id)
    expect(events.map((event) => event.body.version)).toEqual([1, 2, 3])
    expect((await api(ADMIN, 'GET', `/v1/appointments/${created.id}`)).json()).toMatchObject({
      version: 3,
      status: 'cancelled',
    })
  })

  it('never calls Cal.com for changes that came from Cal.com (I5)', async () => {
    const body = JSON.stringify(
      bookingWebhook('BOOKING_CREATED', { uid: 'from-calcom-1', eventTypeId: 1001, start: futureSlot(2, 9) }),
    )
    const response = await fetch(`${stack.gatewayUrl}/webhooks/calcom/acme-dental`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-cal-signature-256': signCalcom(body, TEST_SECRETS.ACME_WEBHOOK_SECRET),
      },
      body,
    })
    expect(response.status).toBe(202)
    const appointment = await eventually('the Cal.com booking to arrive', async () => {
      const items = await settled()
      return items.find((item) => item.origin === 'calcom')
    })
    // Whichever calcom-sync instance got the event skipped it.
    await eventually('calcom-sync to skip it', async () =>
      stack.syncs.some((sync) => sync.counters.skippedCalcomOrigin > 0) ? true : undefined,
    )
    expect(stack.sandbox.requests()).toHaveLength(0)
    expect((await syncStatus(appointment.id)).status).toBe('synced')
  })

  it('uses only the tenant’s own API key (I6)', async () => {
    const acme = (
      await api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1001, start: futureSlot(3, 9), attendee })
    ).json()
    const bright = (
      await api(TEST_SECRETS.BRIGHT_API_TOKEN, 'POST', '/v1/appointments', {
        eventTypeId: 2001,
        start: futureSlot(3, 9),
        attendee,
      })
    ).json()
    await until(acme.id, 'synced')
    await eventually('bright synced', async () => {
      const status = (
        await api(TEST_SECRETS.BRIGHT_API_TOKEN, 'GET', `/v1/appointments/${bright.id}/sync-status`)
      ).json()
      return status.status === 'synced' ? status : undefined
    })
    const byTenant = (tenantId: string) =>
      stack.sandbox.bookings(tenantId).map((booking) => booking.metadata[CALSYNC_METADATA.appointmentId])
    expect(byTenant('acme-dental')).toEqual([acme.id])
    expect(byTenant('bright-smiles')).toEqual([bright.id])
    for (const request of stack.sandbox.requests()) expect(request.tenantId).not.toBeNull()
  })

  it('sends the trace of the API request to Cal.com (I8)', async () => {
    const traceId = '7a3c1e5f9b2d4a6c8e0f1a2b3c4d5e6f'
    const created = await api(
      ADMIN,
      'POST',
      '/v1/appointments',
      { eventTypeId: 1001, start: futureSlot(4, 9), attendee },
      {
        traceparent: `00-${traceId}-aaaaaaaaaaaaaaaa-01`,
      },
    )
    await until(created.json().id, 'synced')
    const create = stack.sandbox
      .requests()
      .find((request) => request.method === 'POST' && request.path === '/v2/bookings')
    expect(create?.traceparent?.split('-')[1]).toBe(traceId)
  })
})
