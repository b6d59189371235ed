import { SLOT_TAKEN_MESSAGE } from '@calsync/calcom-sandbox'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  attendee,
  BRIGHT_KEY,
  futureSlot,
  plusMinutes,
  type SandboxHarness,
  startSandbox,
} from './support/sandbox-harness.ts'

describe('POST /v2/bookings', () => {
  let h: SandboxHarness
  beforeAll(async () => {
    h = await startSandbox()
  })
  afterAll(() => h.close())
  beforeEach(() => h.sandbox.reset())

  it('creates a booking: 201, success envelope, BookingOutput_2024_08_13 shape', async () => {
    const start = futureSlot(0, 10)
    const created = await h.book(start, {
      attendee: { ...attendee, language: 'sv', phoneNumber: '+46701234567' },
      guests: ['guest@example.org'],
      metadata: { calsyncAppointmentId: 'apt_1', attempt: 2, fromPhone: true },
    })
    expect(created.status).toBe(201)
    expect(created.body.status).toBe('success')
    const booking = created.body.data
    expect(booking).toMatchObject({
      id: expect.any(Number),
      uid: expect.stringMatching(/^[0-9A-Za-z]{22}$/),
      title: expect.stringContaining('Marco Lind'),
      status: 'accepted',
      cancellationReason: null,
      reschedulingReason: null,
      rescheduledFromUid: null,
      rescheduledToUid: null,
      start,
      end: plusMinutes(start, 30),
      duration: 30,
      eventTypeId: 1001,
      eventType: { id: 1001, slug: expect.any(String) },
      attendees: [{ ...attendee, language: 'sv', phoneNumber: '+46701234567' }],
      guests: ['guest@example.org'],
      metadata: { calsyncAppointmentId: 'apt_1', attempt: 2, fromPhone: true },
      hosts: [{ id: expect.any(Number), name: 'dr-jones', email: expect.any(String), timeZone: 'UTC' }],
    })
    expect(Date.parse(booking.createdAt)).not.toBeNaN()
    expect(Date.parse(booking.updatedAt)).not.toBeNaN()

    const read = await h.call('GET', `/v2/bookings/${booking.uid}`)
    expect(read.status).toBe(200)
    expect(read.body).toEqual({ status: 'success', data: booking })
  })

  it('defaults the attendee language, computes the end from the event type and reads starts as UTC', async () => {
    const start = futureSlot(0, 10)
    const withOffset = start.replace('T10:00:00.000Z', 'T12:00:00+02:00')
    const created = await h.call('POST', '/v2/bookings', { body: { start: withOffset, eventTypeId: 1002, attendee } })
    expect(created.status).toBe(201)
    expect(created.body.data).toMatchObject({
      start,
      end: plusMinutes(start, 45),
      duration: 45,
      attendees: [{ language: 'en' }],
    })
    const same = await h.book(futureSlot(1, 10), { lengthInMinutes: 30 })
    expect(same.status).toBe(201)
  })

  it('refuses a taken slot with 400 and Cal.com wording; adjacent slots and other hosts are free', async () => {
    const start = futureSlot(0, 10)
    expect((await h.book(start)).status).toBe(201)
    for (const overlapping of [start, plusMinutes(start, 15), plusMinutes(start, -15)]) {
      const taken = await h.book(overlapping)
      expect(taken.status).toBe(400)
      expect(taken.body.error).toEqual({ code: 'BadRequestException', message: SLOT_TAKEN_MESSAGE })
      expect(taken.body.error.message).toContain('already has booking at this time or is not available')
    }
    expect((await h.book(plusMinutes(start, 30))).status).toBe(201)
    expect((await h.book(plusMinutes(start, -30))).status).toBe(201)
    // Another resource of the tenant, and another tenant, are not this host.
    expect((await h.book(start, { eventTypeId: 1002 })).status).toBe(201)
    expect((await h.book(start, { eventTypeId: 2001 }, BRIGHT_KEY)).status).toBe(201)
    expect(h.sandbox.bookings().filter((booking) => booking.status === 'accepted')).toHaveLength(5)
  })

  it('frees the slot of a cancelled booking', async () => {
    const start = futureSlot(0, 11)
    const first = await h.book(start)
    await h.cancel(first.body.data.uid)
    expect((await h.book(start)).status).toBe(201)
  })

  it("answers 404 for an event type that is not the key's tenant's", async () => {
    const foreign = await h.book(futureSlot(0, 10), { eventTypeId: 2001 })
    expect(foreign.status).toBe(404)
    expect(foreign.body.error).toEqual({ code: 'NotFoundException', message: 'Event type with id 2001 not found.' })
    expect((await h.book(futureSlot(0, 10), { eventTypeId: 999_999 })).status).toBe(404)
  })

  it('refuses invalid bodies with 400 BadRequestException', async () => {
    const start = futureSlot(0, 10)
    const cases: Array<[Record<string, unknown>, string | RegExp]> = [
      [{ start, eventTypeId: 1001, attendee, unknownField: 1 }, 'property unknownField should not exist'],
      [
        { start, eventTypeId: 1001, attendee: { ...attendee, nickname: 'M' } },
        'property attendee.nickname should not exist',
      ],
      [{ eventTypeId: 1001, attendee }, /start/],
      [{ start: 'next tuesday', eventTypeId: 1001, attendee }, /start/],
      [{ start, eventTypeId: '1001', attendee }, /eventTypeId/],
      [{ start, eventTypeId: 1001 }, /attendee/],
      [{ start, eventTypeId: 1001, attendee: { name: 'A', email: 'a@example.org' } }, /timeZone/],
      [{ start, eventTypeId: 1001, attendee: { ...attendee, timeZone: 'Mars/Olympus' } }, /timeZone/],
      [{ start, eventTypeId: 1001, attendee: { ...attendee, email: 'not-an-email' } }, /email/],
      [{ start, eventTypeId: 1001, attendee, guests: ['nope'] }, /guests/],
      [{ start, eventTypeId: 1001, attendee, lengthInMinutes: 45 }, /lengthInMinutes/],
      [
        { start: new Date(Date.now() - 3_600_000).toISOString(), eventTypeId: 1001, attendee },
        'Attempting to book a meeting in the past.',
      ],
    ]
    for (const [body, message] of cases) {
      const answer = await h.call('POST', '/v2/bookings', { body })
      expect(answer.status, JSON.stringify(body)).toBe(400)
      expect(answer.body.error.code).toBe('BadRequestException')
      expect(answer.body.error.message).toMatch(message)
    }
    expect(h.sandbox.bookings()).toHaveLength(0)
  })

  it("applies Cal.com's metadata limits: 50 keys, 40-character keys, 500-character strings, numbers, booleans", async () => {
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']))
    const limits = { ...fifty, k0: 'x'.repeat(500), k1: 7, k2: false }
    expect((await h.book(futureSlot(0, 8), { metadata: limits })).status).toBe(201)
    expect((await h.book(futureSlot(0, 9), { metadata: { ['k'.repeat(40)]: 'ok' } })).status).toBe(201)
    const invalid = [
      { ...fifty, one: 'too many' },
      { ['k'.repeat(41)]: 'v' },
      { note: 'x'.repeat(501) },
      { nested: { a: 1 } },
      { list: [1, 2] },
      { nothing: null },
      ['not', 'an', 'object'],
      'text',
    ]
    for (const metadata of invalid) {
      const answer = await h.book(futureSlot(0, 12), { metadata })
      expect(answer.status, JSON.stringify(metadata).slice(0, 80)).toBe(400)
      expect(answer.body.error.message).toMatch(/^metadata must be an object with up to 50 keys/)
    }
  })
})
