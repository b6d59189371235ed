import { createSchemaCheck, VerifiedWebhook } from '@calsync/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook } from '../../../test/support/calcom-webhooks.ts'
import { ACME, futureSlot } from '../../../test/support/tenants.ts'
import { type GatewayHarness, startGatewayHarness } from './support/gateway-harness.ts'

const NOW = new Date('2031-03-03T09:00:00.000Z')
const UNOWNED_EVENT_TYPE = 987654
const checkVerified = createSchemaCheck(VerifiedWebhook)

type Payload = Record<string, unknown> & { attendees: Record<string, unknown>[] }

let counter = 0
/** A fresh booking whose payload `change` edits, so every delivery has its own bytes. */
function booking(change: (payload: Payload) => void = () => {}, eventTypeId = 1001) {
  counter += 1
  const webhook = bookingWebhook('BOOKING_CREATED', {
    uid: `bk-bounds-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    eventTypeId,
    start: futureSlot(),
    createdAt: NOW.toISOString(),
  }) as unknown as { createdAt: string; payload: Payload }
  change(webhook.payload)
  return webhook
}

describe('webhook body bounds', () => {
  let gateway: GatewayHarness
  beforeAll(async () => {
    gateway = await startGatewayHarness({ clock: () => NOW })
  })
  afterAll(() => gateway.close())

  const refusals: [string, (payload: Payload) => void, string][] = [
    [
      'an attendee name over 200 characters',
      (payload) => {
        payload.attendees[0] = { ...payload.attendees[0], name: 'a'.repeat(201) }
      },
      'payload.attendees[0].name',
    ],
    [
      'additionalNotes over 2000 characters',
      (payload) => {
        payload.additionalNotes = 'n'.repeat(2001)
      },
      'payload.additionalNotes',
    ],
    // These times pass the schema's `date-time` format; only the gateway's own parsing refuses them.
    [
      'a leap-second startTime',
      (payload) => {
        payload.startTime = '2031-06-30T23:59:60Z'
      },
      'payload.startTime must be an RFC 3339 date-time',
    ],
    [
      'an endTime past year 9999 in UTC',
      (payload) => {
        payload.endTime = '9999-12-31T23:59:59-01:00'
      },
      'payload.endTime must be an RFC 3339 date-time',
    ],
  ]

  it.each(refusals)('refuses %s with 400 invalid_body, publishing nothing', async (_name, change, message) => {
    const before = await gateway.messageCounts()
    // An unowned event type would go to review: neither route may take the delivery.
    for (const eventTypeId of [1001, UNOWNED_EVENT_TYPE]) {
      const response = await gateway.post(ACME, JSON.stringify(booking(change, eventTypeId)))
      expect(response.statusCode).toBe(400)
      expect(response.json().error).toBe('invalid_body')
      expect(response.json().message).toContain(message)
    }
    expect(await gateway.messageCounts()).toEqual(before)
  })

  it('refuses a leap-second createdAt with 400 invalid_body, publishing nothing', async () => {
    const before = await gateway.messageCounts()
    const webhook = booking()
    webhook.createdAt = '2030-12-31T23:59:60Z'
    const response = await gateway.post(ACME, JSON.stringify(webhook))
    expect(response.statusCode).toBe(400)
    expect(response.json()).toEqual({
      error: 'invalid_body',
      message: 'createdAt must be an RFC 3339 date-time between years 0000 and 9999',
    })
    expect(await gateway.messageCounts()).toEqual(before)
  })

  it('queues a booking at exactly every limit with 202, unchanged', async () => {
    const webhook = booking((payload) => {
      payload.uid = (payload.uid as string).padEnd(255, 'u')
      payload.rescheduleUid = 'r'.repeat(255)
      payload.additionalNotes = 'n'.repeat(2000)
      payload.metadata = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`key${i}`, `value${i}`]))
      const first = {
        name: 'a'.repeat(200),
        email: `${'e'.repeat(308)}@example.org`,
        timeZone: 'z'.repeat(64),
        phoneNumber: '+'.padEnd(32, '4'),
      }
      const others = Array.from({ length: 99 }, (_, i) => ({
        name: `Guest ${i}`,
        email: `guest${i}@example.org`,
        timeZone: 'Europe/Berlin',
      }))
      payload.attendees = [first, ...others]
      // Offsets and lower-case separators are RFC 3339 too.
      payload.startTime = '2031-04-07t12:00:00.000+02:00'
      payload.endTime = '2031-04-07T10:30:00z'
    })
    const raw = JSON.stringify(webhook)
    const response = await gateway.post(ACME, raw)
    expect(response.statusCode).toBe(202)

    const { deliveryId } = response.json() as { deliveryId: string }
    const subject = gateway.names.subjects.webhook(ACME, 'BOOKING_CREATED')
    const stored = (await gateway.webhookMessages<VerifiedWebhook>(subject)).filter((m) => m.msgId === deliveryId)
    expect(stored).toHaveLength(1)
    expect(checkVerified.check(stored[0]?.body).ok).toBe(true)
    expect(stored[0]?.body.webhook).toEqual(webhook)
  })
})
