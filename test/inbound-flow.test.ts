import { createServiceMetrics } from '@calsync/service-kit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AppointmentsHarness, startAppointmentsHarness } from '../services/appointments/test/support/harness.ts'
import { buildApp as buildGateway } from '../services/webhook-gateway/src/app.ts'
import { bookingWebhook, signCalcom } from './support/calcom-webhooks.ts'
import { eventually } from './support/infra.ts'
import { roundRobin } from './support/instances.ts'
import { fileLogger } from './support/logs.ts'
import { futureSlot, TEST_SECRETS } from './support/tenants.ts'

describe('Cal.com → gateway → JetStream → appointments', () => {
  let h: AppointmentsHarness
  let gateways: ReturnType<typeof buildGateway>[] = []
  let gateway: () => ReturnType<typeof buildGateway>
  beforeAll(async () => {
    h = await startAppointmentsHarness()
    // A gateway per appointments instance (on its connection): with two, the same delivery
    // again reaches the other gateway, which must still see it as a duplicate.
    gateways = h.instances.map((instance) =>
      buildGateway({
        logger: fileLogger('webhook-gateway'),
        readiness: async () => ({ ok: true }),
        tenants: instance.tenants,
        js: instance.js,
        names: h.names,
        metrics: createServiceMetrics({ serviceName: 'webhook-gateway' }),
        config: { replayWindowMs: 15 * 60_000, rateLimitPerMinute: 600 },
      }),
    )
    gateway = roundRobin(gateways)
  })
  afterAll(async () => {
    for (const each of gateways) await each.close()
    await h.close()
  })

  it('turns a signed BOOKING_CREATED into one calcom appointment; the same delivery again changes nothing', async () => {
    const body = JSON.stringify(
      bookingWebhook('BOOKING_CREATED', { uid: 'flow-1', eventTypeId: 1001, start: futureSlot(0, 10) }),
    )
    const deliver = () =>
      gateway().inject({
        method: 'POST',
        url: '/webhooks/calcom/acme-dental',
        headers: {
          'content-type': 'application/json',
          'x-cal-signature-256': signCalcom(body, TEST_SECRETS.ACME_WEBHOOK_SECRET),
        },
        payload: body,
      })
    const first = await deliver()
    expect(first.statusCode).toBe(202)
    const appointment = await eventually('the appointment', async () => {
      const list = (await h.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'GET', '/v1/appointments')).json()
      return list.items.find((item: { calcomBookingUid: string }) => item.calcomBookingUid === 'flow-1')
    })
    expect(appointment).toMatchObject({
      origin: 'calcom',
      status: 'booked',
      start: futureSlot(0, 10),
      sync: { status: 'synced' },
    })

    const again = await deliver()
    expect(again.statusCode).toBe(200)
    expect(again.json()).toMatchObject({ status: 'duplicate' })
    await eventually('the consumers to drain', async () => ((await h.consumersIdle()) ? true : undefined))
    await h.components.relay.runOnce()
    const list = (await h.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'GET', '/v1/appointments')).json()
    expect(list.items.filter((item: { calcomBookingUid: string }) => item.calcomBookingUid === 'flow-1')).toHaveLength(
      1,
    )
    expect(await h.events(appointment.id)).toHaveLength(1)
  })
})
