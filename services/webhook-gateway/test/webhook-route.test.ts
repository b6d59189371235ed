import { createHash } from 'node:crypto'
import {
  type CalcomBookingWebhook,
  createSchemaCheck,
  HEADERS,
  ReviewRequest,
  VerifiedWebhook,
} from '@calsync/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook } from '../../../test/support/calcom-webhooks.ts'
import { ACME, BRIGHT, futureSlot } from '../../../test/support/tenants.ts'
import { type GatewayHarness, SECRETS, sign, startGatewayHarness } from './support/gateway-harness.ts'

const checkVerified = createSchemaCheck(VerifiedWebhook)
const checkReview = createSchemaCheck(ReviewRequest)
const NOW = new Date('2031-03-03T09:00:00.000Z')
const minutesFromNow = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000).toISOString()

let counter = 0
/** A fresh booking each call, so every test's delivery has its own bytes and its own delivery id. */
function booking(
  trigger: CalcomBookingWebhook['triggerEvent'] = 'BOOKING_CREATED',
  overrides: { eventTypeId?: number; createdAt?: string } = {},
): CalcomBookingWebhook {
  counter += 1
  return bookingWebhook(trigger, {
    uid: `bk-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    eventTypeId: overrides.eventTypeId ?? 1001,
    start: futureSlot(),
    createdAt: overrides.createdAt ?? NOW.toISOString(),
  })
}

const deliveryIdOf = (tenantId: string, raw: string) => createHash('sha256').update(`${tenantId}\n${raw}`).digest('hex')

describe('POST /webhooks/calcom/:tenantId', () => {
  let gateway: GatewayHarness
  beforeAll(async () => {
    gateway = await startGatewayHarness({ clock: () => NOW })
  })
  afterAll(() => gateway.close())

  it('queues a signed booking once, and answers an exact re-delivery as a duplicate', async () => {
    const webhook = booking()
    const raw = JSON.stringify(webhook)
    const subject = gateway.names.subjects.webhook(ACME, 'BOOKING_CREATED')

    const first = await gateway.post(ACME, raw)
    expect(first.statusCode).toBe(202)
    const deliveryId = deliveryIdOf(ACME, raw)
    expect(first.json()).toEqual({ status: 'accepted', deliveryId })

    const stored = (await gateway.webhookMessages<VerifiedWebhook>(subject)).filter((m) => m.msgId === deliveryId)
    expect(stored).toHaveLength(1)
    const [message] = stored
    expect(checkVerified.check(message?.body).ok).toBe(true)
    expect(message?.body).toEqual({
      type: 'calcom.webhook.verified',
      tenantId: ACME,
      deliveryId,
      receivedAt: NOW.toISOString(),
      webhook,
    })
    const storedMessage = await gateway.jsm.streams.getMessage(gateway.names.streams.webhooks, {
      seq: message?.seq ?? 0,
    })
    const headers = storedMessage?.header
    expect(headers?.get(HEADERS.origin)).toBe('calcom')
    expect(headers?.get(HEADERS.tenant)).toBe(ACME)
    expect(headers?.get(HEADERS.messageType)).toBe('calcom.webhook.verified')

    const before = await gateway.messageCounts()
    const again = await gateway.post(ACME, raw)
    expect(again.statusCode).toBe(200)
    expect(again.json()).toEqual({ status: 'duplicate', deliveryId })
    expect(await gateway.messageCounts()).toEqual(before)
    expect((await gateway.webhookMessages(subject)).filter((m) => m.msgId === deliveryId)).toHaveLength(1)
  })

  it('verifies the exact bytes sent, whitespace and non-ASCII included', async () => {
    const webhook = booking('BOOKING_CANCELLED')
    webhook.payload.attendees[0] = { name: 'Zoë Ångström 李', email: 'zoe@example.org', timeZone: 'Europe/Oslo' }
    const raw = `${JSON.stringify(webhook, null, 2)}\n`
    const response = await gateway.post(ACME, raw)
    expect(response.statusCode).toBe(202)
    const subject = gateway.names.subjects.webhook(ACME, 'BOOKING_CANCELLED')
    const [stored] = (await gateway.webhookMessages<VerifiedWebhook>(subject)).filter(
      (m) => m.msgId === deliveryIdOf(ACME, raw),
    )
    expect(stored?.body.webhook).toEqual(webhook)
  })

  it('refuses a missing, unsigned or wrong signature with 401 and publishes nothing', async () => {
    const raw = JSON.stringify(booking())
    const before = await gateway.messageCounts()
    const cases: Array<[string | null, string]> = [
      [null, 'missing_signature'],
      ['', 'missing_signature'],
      ['no-secret-provided', 'missing_signature'],
      [sign(raw, SECRETS[BRIGHT] ?? ''), 'invalid_signature'],
      [sign(`${raw} `, SECRETS[ACME] ?? ''), 'invalid_signature'],
      [sign(raw, SECRETS[ACME] ?? '').slice(0, 63), 'invalid_signature'],
      [`sha256=${sign(raw, SECRETS[ACME] ?? '')}`, 'invalid_signature'],
      ['zz'.repeat(32), 'invalid_signature'],
    ]
    for (const [signature, code] of cases) {
      const response = await gateway.post(ACME, raw, { signature })
      expect(response.statusCode, `signature ${signature}`).toBe(401)
      expect(response.json().error).toBe(code)
    }
    expect(await gateway.messageCounts()).toEqual(before)
  })

  it("refuses a validly signed webhook naming another tenant's event type with 403 and an audit line", async () => {
    const webhook = booking('BOOKING_CREATED', { eventTypeId: 2001 })
    const before = await gateway.messageCounts()
    const response = await gateway.post(ACME, JSON.stringify(webhook))
    expect(response.statusCode).toBe(403)
    expect(response.json().error).toBe('foreign_event_type')
    expect(await gateway.messageCounts()).toEqual(before)

    const audit = gateway.logLines().find((line) => line.msg === 'cross-tenant webhook refused')
    expect(audit).toMatchObject({
      level: 40,
      tenantId: ACME,
      ownerTenantId: BRIGHT,
      eventTypeId: 2001,
      bookingUid: webhook.payload.uid,
    })
  })

  it('sends a webhook for an event type no tenant owns to review as unmapped_event_type, with 202', async () => {
    const webhook = booking('BOOKING_RESCHEDULED', { eventTypeId: 987654 })
    const raw = JSON.stringify(webhook)
    const before = await gateway.messageCounts()
    const response = await gateway.post(ACME, raw)
    expect(response.statusCode).toBe(202)
    const deliveryId = deliveryIdOf(ACME, raw)
    expect(response.json()).toEqual({ status: 'accepted', deliveryId })
    expect(await gateway.messageCounts()).toEqual({ webhooks: before.webhooks, review: before.review + 1 })

    const subject = gateway.names.subjects.review(ACME, 'unmapped_event_type')
    const items = (await gateway.reviewMessages<ReviewRequest>(subject)).filter(
      (m) => m.msgId === `unmapped:${deliveryId}`,
    )
    expect(items).toHaveLength(1)
    const item = items[0]?.body
    expect(checkReview.check(item).ok).toBe(true)
    expect(item).toMatchObject({
      type: 'review.requested',
      kind: 'unmapped_event_type',
      causeId: `unmapped:${deliveryId}`,
      tenantId: ACME,
      appointmentIds: [],
      errorCode: 'unknown_event_type',
      attempts: 0,
      at: NOW.toISOString(),
      detail: { eventTypeId: 987654, bookingUid: webhook.payload.uid, triggerEvent: 'BOOKING_RESCHEDULED', webhook },
    })
    expect(item?.errorMessage).toContain('987654')

    const again = await gateway.post(ACME, raw)
    expect(again.statusCode).toBe(200)
    expect(again.json()).toEqual({ status: 'duplicate', deliveryId })
    expect((await gateway.messageCounts()).review).toBe(before.review + 1)
  })

  it('answers 400 bad_request for a body that is not JSON, and 400 invalid_body for one off the schema', async () => {
    const before = await gateway.messageCounts()
    for (const raw of ['{"triggerEvent":', '', '{"__proto__":{"admin":true},"triggerEvent":"BOOKING_CREATED"}']) {
      const response = await gateway.post(ACME, raw)
      expect(response.statusCode, raw).toBe(400)
      expect(response.json().error).toBe('bad_request')
    }

    const webhook = booking() as unknown as { payload: Record<string, unknown> }
    delete webhook.payload.uid
    const invalid = await gateway.post(ACME, JSON.stringify(webhook))
    expect(invalid.statusCode).toBe(400)
    expect(invalid.json()).toEqual({ error: 'invalid_body', message: 'payload.uid is required' })

    for (const body of ['[]', '"BOOKING_CREATED"', '{"payload":{}}', '{"triggerEvent":42}']) {
      const response = await gateway.post(ACME, body)
      expect(response.statusCode, body).toBe(400)
      expect(response.json().error).toBe('invalid_body')
    }
    expect(await gateway.messageCounts()).toEqual(before)
  })

  it('answers 413 over 256 KiB and 415 for anything but JSON', async () => {
    const webhook = booking() as unknown as { payload: Record<string, unknown> }
    webhook.payload.description = 'x'.repeat(300 * 1024)
    const tooLarge = await gateway.post(ACME, JSON.stringify(webhook))
    expect(tooLarge.statusCode).toBe(413)
    expect(tooLarge.json().error).toBe('payload_too_large')

    const raw = JSON.stringify(booking())
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', null]) {
      const response = await gateway.post(ACME, raw, { contentType })
      expect(response.statusCode, String(contentType)).toBe(415)
      expect(response.json().error).toBe('unsupported_media_type')
    }
    const withCharset = await gateway.post(ACME, raw, { contentType: 'application/json; charset=utf-8' })
    expect(withCharset.statusCode).toBe(202)
  })

  it('answers 404 unknown_tenant for a tenant that does not exist', async () => {
    const raw = JSON.stringify(booking())
    for (const tenantId of ['no-such-tenant', 'ACME-DENTAL', 'a'.repeat(65)]) {
      const response = await gateway.post(tenantId, raw, { signature: sign(raw, SECRETS[ACME] ?? '') })
      expect(response.statusCode, tenantId).toBe(404)
      expect(response.json().error).toBe('unknown_tenant')
    }
  })

  it('refuses a delivery whose signed createdAt is outside the replay window, publishing nothing', async () => {
    const before = await gateway.messageCounts()
    for (const createdAt of [minutesFromNow(-16), minutesFromNow(-60 * 24), minutesFromNow(6)]) {
      const response = await gateway.post(ACME, JSON.stringify(booking('BOOKING_CREATED', { createdAt })))
      expect(response.statusCode, createdAt).toBe(400)
      expect(response.json().error).toBe('stale_delivery')
    }
    expect(await gateway.messageCounts()).toEqual(before)

    // Just inside either edge is still accepted: Cal.com retries arrive minutes late.
    for (const createdAt of [minutesFromNow(-14), minutesFromNow(4)]) {
      const response = await gateway.post(ACME, JSON.stringify(booking('BOOKING_CREATED', { createdAt })))
      expect(response.statusCode, createdAt).toBe(202)
    }
  })

  it("answers Cal.com's PING with 200 and ignores other triggers with 200, publishing nothing", async () => {
    const before = await gateway.messageCounts()
    const ping = JSON.stringify({
      triggerEvent: 'PING',
      createdAt: NOW.toISOString(),
      payload: {
        type: 'Test',
        title: 'Test trigger event',
        description: '',
        startTime: NOW.toISOString(),
        endTime: NOW.toISOString(),
        organizer: { name: 'Cal', email: 'no-reply@cal.com' },
        attendees: [{ name: 'John Doe', email: 'jdoe@example.com', timeZone: 'Europe/London' }],
      },
    })
    const pong = await gateway.post(ACME, ping)
    expect(pong.statusCode).toBe(200)
    expect(pong.json()).toEqual({ status: 'ok' })
    expect((await gateway.post(ACME, ping, { signature: 'no-secret-provided' })).statusCode).toBe(401)

    const meetingEnded = JSON.stringify({ ...booking(), triggerEvent: 'MEETING_ENDED' })
    const ignored = await gateway.post(ACME, meetingEnded)
    expect(ignored.statusCode).toBe(200)
    expect(ignored.json()).toEqual({ status: 'ignored' })
    const noShow = JSON.stringify({
      triggerEvent: 'BOOKING_NO_SHOW_UPDATED',
      createdAt: NOW.toISOString(),
      payload: { bookingUid: 'x', bookingId: 1, attendees: [{ email: 'a@b.c', noShow: true }], message: 'm' },
    })
    expect(await gateway.messageCounts()).toEqual(before)
    // A no-show update is not ignored: stored for the appointments service (it maps the booking by uid).
    const noted = await gateway.post(ACME, noShow)
    expect(noted.statusCode).toBe(202)
    const stored = await gateway.webhookMessages(gateway.names.subjects.webhook(ACME, 'BOOKING_NO_SHOW_UPDATED'))
    expect(stored.map((m) => m.body)).toEqual([
      expect.objectContaining({ type: 'calcom.no_show.verified', tenantId: ACME, deliveryId: noted.json().deliveryId }),
    ])
    const malformed = JSON.stringify({
      triggerEvent: 'BOOKING_NO_SHOW_UPDATED',
      createdAt: NOW.toISOString(),
      payload: {},
    })
    expect((await gateway.post(ACME, malformed)).json()).toMatchObject({ error: 'invalid_body' })
  })

  it('keeps each tenant to its own subject and secret', async () => {
    const webhook = booking('BOOKING_CREATED', { eventTypeId: 2001 })
    const raw = JSON.stringify(webhook)
    const response = await gateway.post(BRIGHT, raw)
    expect(response.statusCode).toBe(202)
    const subject = gateway.names.subjects.webhook(BRIGHT, 'BOOKING_CREATED')
    const stored = (await gateway.webhookMessages<VerifiedWebhook>(subject)).filter(
      (m) => m.msgId === deliveryIdOf(BRIGHT, raw),
    )
    expect(stored.map((m) => m.body.tenantId)).toEqual([BRIGHT])
    // The same bytes signed by acme for bright's URL prove nothing about bright.
    const forged = await gateway.post(BRIGHT, raw, { signature: sign(raw, SECRETS[ACME] ?? '') })
    expect(forged.statusCode).toBe(401)
  })
})
