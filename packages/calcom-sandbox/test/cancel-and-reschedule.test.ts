import { SLOT_TAKEN_MESSAGE } from '@calsync/calcom-sandbox'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  ACME_KEY,
  attendee,
  BRIGHT_KEY,
  futureSlot,
  plusMinutes,
  type SandboxHarness,
  startSandbox,
} from './support/sandbox-harness.ts'

describe('cancel and reschedule', () => {
  let h: SandboxHarness
  beforeAll(async () => {
    h = await startSandbox()
  })
  afterAll(() => h.close())
  beforeEach(() => h.sandbox.reset())

  const bookOne = async (
    start = futureSlot(0, 10),
    metadata: Record<string, string> = { calsyncAppointmentId: 'a1' },
  ) => (await h.book(start, { metadata })).body.data

  it('requires a cancellation reason', async () => {
    const booking = await bookOne()
    for (const body of [{}, { cancellationReason: '' }, { cancellationReason: 42 }]) {
      const answer = await h.call('POST', `/v2/bookings/${booking.uid}/cancel`, { body })
      expect(answer.status).toBe(400)
      expect(answer.body.error).toMatchObject({
        code: 'BadRequestException',
        message: expect.stringMatching(/cancellationReason/),
      })
    }
    const noBody = await h.call('POST', `/v2/bookings/${booking.uid}/cancel`)
    expect(noBody.status).toBe(400)
    const emptyJson = await h.call('POST', `/v2/bookings/${booking.uid}/cancel`, {
      headers: { 'content-type': 'application/json' },
    })
    expect(emptyJson.body.error.message).toMatch(/cancellationReason/)
    const brokenJson = await fetch(`${h.base}/v2/bookings/${booking.uid}/cancel`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ACME_KEY}`,
        'cal-api-version': '2024-08-13',
        'content-type': 'application/json',
      },
      body: '{"cancellationReason": ',
    })
    expect(brokenJson.status).toBe(400)
    expect(await brokenJson.json()).toMatchObject({ status: 'error', error: { code: 'BadRequestException' } })
    expect((await h.call('GET', `/v2/bookings/${booking.uid}`)).body.data.status).toBe('accepted')
  })

  it('cancels with 200 and the re-read booking, and refuses a second cancel', async () => {
    const booking = await bookOne()
    const cancelled = await h.cancel(booking.uid, 'patient called in sick')
    expect(cancelled.status).toBe(200)
    expect(cancelled.body).toMatchObject({
      status: 'success',
      data: { uid: booking.uid, status: 'cancelled', cancellationReason: 'patient called in sick' },
    })
    expect((await h.call('GET', `/v2/bookings/${booking.uid}`)).body.data.status).toBe('cancelled')
    const twice = await h.cancel(booking.uid)
    expect(twice.status).toBe(400)
    expect(twice.body.error).toEqual({
      code: 'BadRequestException',
      message: 'This booking has already been cancelled.',
    })
  })

  it('reschedules to a new booking with a new uid and cancels the old one, pointing at the new', async () => {
    const booking = await bookOne(futureSlot(0, 10), { calsyncAppointmentId: 'apt_9' })
    const start = futureSlot(0, 14)
    const moved = await h.reschedule(booking.uid, start, {
      reschedulingReason: 'travelling',
      rescheduledBy: attendee.email,
    })
    expect(moved.status).toBe(201)
    const next = moved.body.data
    expect(next.uid).not.toBe(booking.uid)
    expect(next.id).not.toBe(booking.id)
    expect(next).toMatchObject({
      status: 'accepted',
      start,
      end: plusMinutes(start, 30),
      eventTypeId: 1001,
      attendees: booking.attendees,
      metadata: { calsyncAppointmentId: 'apt_9' },
      rescheduledFromUid: booking.uid,
      rescheduledToUid: null,
      reschedulingReason: 'travelling',
    })
    const old = (await h.call('GET', `/v2/bookings/${booking.uid}`)).body.data
    expect(old).toMatchObject({ status: 'cancelled', rescheduledToUid: next.uid, start: booking.start })
    expect(h.sandbox.bookings().find((stored) => stored.uid === booking.uid)?.rescheduled).toBe(true)
    // The old time is free again.
    expect((await h.book(booking.start)).status).toBe(201)
  })

  it('refuses to reschedule a rescheduled booking again, naming where it went; and a cancelled one', async () => {
    const booking = await bookOne()
    const next = (await h.reschedule(booking.uid, futureSlot(0, 14))).body.data
    const again = await h.reschedule(booking.uid, futureSlot(0, 16))
    expect(again.status).toBe(400)
    expect(again.body.error.code).toBe('BadRequestException')
    expect(again.body.error.message).toContain(`rescheduled already to booking with uid=${next.uid}`)

    await h.cancel(next.uid)
    const cancelled = await h.reschedule(next.uid, futureSlot(0, 16))
    expect(cancelled.status).toBe(400)
    expect(cancelled.body.error.message).toContain('because it has been cancelled')
    expect(cancelled.body.error.message).not.toContain('rescheduled already')
  })

  it('checks availability on reschedule, ignoring the booking being moved', async () => {
    const booking = await bookOne(futureSlot(0, 10))
    await bookOne(futureSlot(0, 11))
    const onto = await h.reschedule(booking.uid, plusMinutes(futureSlot(0, 11), 15))
    expect(onto.status).toBe(400)
    expect(onto.body.error.message).toBe(SLOT_TAKEN_MESSAGE)
    // Sliding by 15 minutes overlaps only itself.
    expect((await h.reschedule(booking.uid, plusMinutes(booking.start, 15))).status).toBe(201)
  })

  it('refuses a reschedule into the past or without a start', async () => {
    const booking = await bookOne()
    expect((await h.reschedule(booking.uid, new Date(Date.now() - 60_000).toISOString())).body.error.message).toBe(
      'Attempting to book a meeting in the past.',
    )
    expect((await h.call('POST', `/v2/bookings/${booking.uid}/reschedule`, { body: {} })).status).toBe(400)
    expect((await h.reschedule(booking.uid, futureSlot(0, 14), { why: 'x' })).status).toBe(400)
  })

  it("answers 404 for unknown uids and for another tenant's bookings, on every route", async () => {
    const booking = await bookOne()
    for (const [key, uid] of [
      [BRIGHT_KEY, booking.uid],
      [undefined, 'AAAAAAAAAAAAAAAAAAAAAA'],
    ] as const) {
      const read = await h.call('GET', `/v2/bookings/${uid}`, { key })
      expect(read.status).toBe(404)
      expect(read.body.error).toEqual({ code: 'NotFoundException', message: `Booking with uid=${uid} not found` })
      expect((await h.cancel(uid, 'x', key)).status).toBe(404)
      const moved = await h.call('POST', `/v2/bookings/${uid}/reschedule`, { key, body: { start: futureSlot(0, 15) } })
      expect(moved.status).toBe(404)
    }
    expect((await h.call('GET', `/v2/bookings/${booking.uid}`)).body.data.status).toBe('accepted')
  })
})
