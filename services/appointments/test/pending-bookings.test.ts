import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook, signCalcom } from '../../../test/support/calcom-webhooks.ts'
import { eventually } from '../../../test/support/infra.ts'
import { type Stack, startStack } from '../../../test/support/stack.ts'
import { ACME, futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'

const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const attendee = { name: 'Lea Roth', email: 'lea@example.org', timeZone: 'Europe/Berlin' }
const at = (hour: number) => futureSlot(19, hour)

/** A time as Cal.com's server writes it into a cancel: its local offset, not Z (calcom/README.md §8). */
const withOffset = (iso: string) => {
  const local = new Date(Date.parse(iso) - 4 * 60 * 60_000).toISOString().slice(0, 19)
  return `${local}-04:00`
}

describe('bookings that need confirmation (BOOKING_REQUESTED, BOOKING_REJECTED) and host reschedule requests', () => {
  let s: Stack
  beforeAll(async () => {
    s = await startStack()
  })
  afterAll(async () => {
    await s?.close()
  })

  async function send(body: Record<string, unknown>) {
    const raw = JSON.stringify(body)
    const response = await fetch(`${s.gatewayUrl}/webhooks/calcom/${ACME}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-cal-signature-256': signCalcom(raw, TEST_SECRETS.ACME_WEBHOOK_SECRET),
      },
      body: raw,
    })
    return response.status
  }
  /** A booking webhook shaped as Cal.com's own code builds it (§8): PENDING status, extra metadata. */
  const requested = (uid: string, start: string, rescheduleUid?: string) => {
    const body = bookingWebhook('BOOKING_REQUESTED', {
      uid,
      eventTypeId: 1001,
      start,
      metadata: { videoCallUrl: 'https://meet.example/abc' },
      ...(rescheduleUid ? { rescheduleUid } : {}),
    })
    return { ...body, payload: { ...body.payload, status: 'PENDING', requiresConfirmation: true } }
  }
  /** BOOKING_CANCELLED as Cal.com sends it: no metadata, offset times, nulls for price and confirmation. */
  const cancelled = (trigger: 'BOOKING_CANCELLED' | 'BOOKING_REJECTED', uid: string, start: string, extra = {}) => {
    const body = bookingWebhook('BOOKING_CANCELLED', { uid, eventTypeId: 1001, start })
    const { metadata: _none, ...payload } = body.payload
    return {
      ...body,
      triggerEvent: trigger,
      payload: {
        ...payload,
        startTime: withOffset(body.payload.startTime),
        endTime: withOffset(body.payload.endTime),
        status: trigger === 'BOOKING_REJECTED' ? 'REJECTED' : 'CANCELLED',
        price: null,
        requiresConfirmation: null,
        cancelledBy: 'jones@clinic.example',
        ...extra,
      },
    }
  }
  async function settled() {
    await eventually('the consumers to drain', async () => ((await s.appointments.consumersIdle()) ? true : undefined))
  }
  async function byUid(uid: string) {
    const items = (await s.appointments.api(ADMIN, 'GET', '/v1/appointments?limit=200')).json().items as Array<{
      id: string
      calcomBookingUid: string | null
    }>
    const found = items.find((item) => item.calcomBookingUid === uid)
    return found
      ? ((await s.appointments.api(ADMIN, 'GET', `/v1/appointments/${found.id}`)).json() as {
          id: string
          status: string
          awaiting: string | null
          start: string
          origin: string
        })
      : undefined
  }
  const localCreate = async (start: string) =>
    (await s.appointments.api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1001, start, attendee })).statusCode

  it('holds the slot of a requested booking, frees it on rejection, follows a pending reschedule and the confirmation', async () => {
    expect(await send(requested('pend-1', at(8)))).toBe(202)
    await settled()
    expect(await byUid('pend-1')).toMatchObject({ status: 'booked', awaiting: 'confirmation', origin: 'calcom' })
    expect(await localCreate(at(8))).toBe(409)

    expect(await send(cancelled('BOOKING_REJECTED', 'pend-1', at(8)))).toBe(202)
    await settled()
    expect(await byUid('pend-1')).toMatchObject({ status: 'cancelled', awaiting: null })
    expect(await localCreate(at(8))).toBe(201)

    // A pending booking moved by the attendee: Cal.com sends BOOKING_REQUESTED with rescheduleUid.
    expect(await send(requested('pend-2', at(10)))).toBe(202)
    await settled()
    expect(await send(requested('pend-3', at(12), 'pend-2'))).toBe(202)
    await settled()
    const moved = await byUid('pend-3')
    expect(moved).toMatchObject({ status: 'booked', awaiting: 'confirmation', start: at(12) })
    expect(await localCreate(at(10))).toBe(201)
    expect(await localCreate(at(12))).toBe(409)

    // The request delivered again changes nothing; the host's confirmation makes it an ordinary booking.
    expect(await send(requested('pend-3', at(12), 'pend-2'))).toBe(202)
    expect(await send(bookingWebhook('BOOKING_CREATED', { uid: 'pend-3', eventTypeId: 1001, start: at(12) }))).toBe(202)
    await settled()
    const confirmed = await byUid('pend-3')
    expect(confirmed).toMatchObject({ id: moved?.id, status: 'booked', awaiting: null, start: at(12) })
    expect(await send(requested('pend-3', at(12), 'pend-2'))).toBe(202)
    await settled()
    expect(await byUid('pend-3')).toMatchObject({ awaiting: null })

    // The host asks the attendee for another time: the slot is free, the appointment awaits a new time.
    expect(await send(cancelled('BOOKING_CANCELLED', 'pend-3', at(12), { requestReschedule: true }))).toBe(202)
    await settled()
    expect(await byUid('pend-3')).toMatchObject({ status: 'cancelled', awaiting: 'new_time' })
    expect(await localCreate(at(12))).toBe(201)
  })

  it('records a no-show update on the appointment of its booking (by uid: it has no times), refuses a malformed one', async () => {
    const noShow = (payload: Record<string, unknown>) =>
      send({ triggerEvent: 'BOOKING_NO_SHOW_UPDATED', createdAt: new Date().toISOString(), payload })
    const appointment = await byUid('pend-3')
    const marked = { bookingUid: 'pend-3', bookingId: 17, attendees: [{ email: 'lea@example.org', noShow: true }] }
    expect(await noShow({ ...marked, message: 'marked by the host' })).toBe(202)
    // A booking calsync does not know: accepted, nothing to note.
    expect(await noShow({ bookingUid: 'never-seen', attendees: [] })).toBe(202)
    expect(await noShow({ attendees: [] })).toBe(400)
    await settled()
    const history = (await s.appointments.api(ADMIN, 'GET', `/v1/appointments/${appointment?.id}/history`)).json()
    expect(history.entries.filter((entry: { what: string }) => entry.what === 'no_show')).toEqual([
      expect.objectContaining({ bookingUid: 'pend-3', detail: 'no-show updated: lea@example.org did not show' }),
    ])
  })

  it('accepts triggers it does not act on, never with a 5xx', async () => {
    const other = (trigger: string, payload: Record<string, unknown>) =>
      send({ triggerEvent: trigger, createdAt: new Date().toISOString(), payload })
    expect(await other('MEETING_ENDED', { uid: 'pend-3' })).toBe(200)
    expect(await other('BOOKING_PAYMENT_INITIATED', {})).toBe(200)
  })
})
