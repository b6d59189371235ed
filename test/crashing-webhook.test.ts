// One signed webhook must never take the appointments service down for every tenant: absurd
// booking times go to review without memory-proportional work, and a delivery whose handling
// stops the process is parked after its second crash instead of killing every restart.
import { mkdirSync } from 'node:fs'
import type { ReviewRequest } from '@calsync/contracts'
import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook, signCalcom } from './support/calcom-webhooks.ts'
import { connectTestNats, eventually, uniqueDbName, uniqueNames } from './support/infra.ts'
import { LOG_DIR } from './support/logs.ts'
import { type ServiceProcess, startServiceProcess } from './support/service-process.ts'
import { readStream } from './support/streams.ts'
import { ACME, BRIGHT, futureSlot, TEST_SECRETS } from './support/tenants.ts'

const YEAR_MS = 365 * 86_400_000

describe('webhooks that could stop the appointments service (real processes)', () => {
  let nc: NatsConnection
  beforeAll(async () => {
    mkdirSync(LOG_DIR, { recursive: true })
    nc = await connectTestNats()
  })
  afterAll(() => nc.drain())

  it('years-long bookings go to review; a delivery that kills the process is parked after two crashes, and other tenants go on', async () => {
    const names = uniqueNames()
    const dbName = uniqueDbName('crashing')
    const jsm = await jetstreamManager(nc)
    const gateway = await startServiceProcess('webhook-gateway', {
      names,
      dbName: `${dbName}-gw`,
      portVariable: 'GATEWAY_PORT',
    })
    // A supervisor, as compose's restart policy or systemd would be: every death is a restart.
    const appointmentsOptions = {
      names,
      dbName,
      portVariable: 'APPOINTMENTS_PORT',
      env: { CALSYNC_FAULT_INJECTION: 'kill-on-poison-webhook' },
    }
    let current: ServiceProcess = await startServiceProcess('appointments', appointmentsOptions)
    let deaths = 0
    let stopping = false
    const supervise = (process: ServiceProcess): void => {
      void process.exited.then(async () => {
        if (stopping) return
        deaths++
        current = await startServiceProcess('appointments', appointmentsOptions)
        supervise(current)
      })
    }
    supervise(current)

    const deliver = async (tenantId: string, secret: string, webhook: unknown) => {
      const body = JSON.stringify(webhook)
      const response = await fetch(`http://127.0.0.1:${gateway.port}/webhooks/calcom/${tenantId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-cal-signature-256': signCalcom(body, secret) },
        body,
      })
      return response.status
    }
    const acme = (webhook: unknown) => deliver(ACME, TEST_SECRETS.ACME_WEBHOOK_SECRET, webhook)
    const reviews = async () =>
      (await readStream<ReviewRequest>(jsm, names.streams.review)).map((message) => message.body)

    try {
      // Every trigger, with an end years (or millennia) after its start.
      const start = futureSlot(3, 9)
      const absurd: Array<[string, string, string, string?]> = [
        ['BOOKING_CREATED', 'years-created', new Date(Date.parse(start) + 30 * YEAR_MS).toISOString()],
        ['BOOKING_REQUESTED', 'years-requested', new Date(Date.parse(start) + 30 * YEAR_MS).toISOString()],
        ['BOOKING_RESCHEDULED', 'years-moved', new Date(Date.parse(start) + 30 * YEAR_MS).toISOString(), 'years-base'],
        ['BOOKING_CREATED', 'millennia', '9999-12-31T23:59:00Z'],
      ]
      for (const [trigger, uid, end, rescheduleUid] of absurd) {
        const webhook = bookingWebhook(trigger as 'BOOKING_CREATED', {
          uid,
          eventTypeId: 1001,
          start,
          ...(rescheduleUid ? { rescheduleUid } : {}),
        })
        webhook.payload.endTime = end
        expect(await acme(webhook)).toBe(202)
      }
      const reviewed = await eventually('the absurd bookings in review', async () => {
        const items = (await reviews()).filter((item) => item.kind === 'unapplied_webhook')
        return items.length >= absurd.length ? items : undefined
      })
      for (const [, uid] of absurd) {
        expect(reviewed.find((item) => item.detail.bookingUid === uid)).toMatchObject({ errorCode: 'invalid_interval' })
      }
      expect(deaths).toBe(0)

      // A delivery whose handling kills the process, with another tenant's booking in flight beside it.
      const poison = bookingWebhook('BOOKING_CREATED', { uid: 'poison-1', eventTypeId: 1001, start: futureSlot(3, 11) })
      const neighbour = bookingWebhook('BOOKING_CREATED', {
        uid: 'bright-1',
        eventTypeId: 2001,
        start: futureSlot(3, 11),
      })
      expect(await acme(poison)).toBe(202)
      expect(await deliver(BRIGHT, TEST_SECRETS.BRIGHT_WEBHOOK_SECRET, neighbour)).toBe(202)

      const parked = await eventually(
        'the poison delivery parked for review',
        async () => (await reviews()).find((item) => item.kind === 'poison_message'),
        150_000,
      )
      expect(parked).toMatchObject({ tenantId: ACME, errorCode: 'handler_crashed' })
      expect(parked.detail).toMatchObject({
        stream: names.streams.webhooks,
        consumer: names.consumers.appointmentsWebhooks,
      })
      expect(deaths).toBe(2)

      // The other tenant's booking is applied, and the service keeps answering.
      const listed = await eventually('the other tenant’s booking', async () => {
        const response = await fetch(`http://127.0.0.1:${current.port}/v1/appointments`, {
          headers: { authorization: `Bearer ${TEST_SECRETS.BRIGHT_API_TOKEN}` },
        })
        if (!response.ok) return undefined
        const { items } = (await response.json()) as { items: Array<{ calcomBookingUid: string }> }
        return items.find((item) => item.calcomBookingUid === 'bright-1')
      })
      expect(listed).toBeDefined()
      // Nothing of the absurd or the poison booking became an appointment.
      const acmeList = await fetch(`http://127.0.0.1:${current.port}/v1/appointments`, {
        headers: { authorization: `Bearer ${TEST_SECRETS.ACME_ADMIN_TOKEN}` },
      })
      expect(((await acmeList.json()) as { items: unknown[] }).items).toEqual([])
      // Everything settles: nothing left to redeliver into a third death (an applied booking is
      // visible a moment before its message is acked, so this is waited for, not read once).
      await eventually('the webhook consumer to settle everything', async () => {
        const info = await jsm.consumers.info(names.streams.webhooks, names.consumers.appointmentsWebhooks)
        return info.num_ack_pending === 0 && info.num_pending === 0 ? true : undefined
      })
      expect(deaths).toBe(2)
    } finally {
      stopping = true
      current.managed.child.kill('SIGTERM')
      gateway.managed.child.kill('SIGTERM')
      await Promise.all([current.exited, gateway.exited])
    }
  }, 240_000)
})
