// Defects 1 and 2 of the appointments core: concurrent changes and double bookings must never
// leave an active appointment without the claims on its minutes (I1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { futureSlot } from '../../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from '../support/harness.ts'
import { scenario } from '../support/scenario.ts'

describe('concurrent changes keep every active appointment holding its minutes (I1)', () => {
  let h: AppointmentsHarness
  let s: ReturnType<typeof scenario>
  beforeAll(async () => {
    h = await startAppointmentsHarness()
    s = scenario(h)
  })
  afterAll(() => h.close())

  for (const copies of [2, 20]) {
    it(`defect 1: ${copies} concurrent identical reschedules leave the appointment holding its new slot`, async () => {
      const day = copies === 2 ? 1 : 2
      const appointment = await s.createOk(futureSlot(day, 9))
      const target = futureSlot(day, 11)
      const answers = await Promise.all(Array.from({ length: copies }, () => s.reschedule(appointment.id, target)))
      for (const answer of answers) expect(answer.statusCode, answer.body).toBe(200)
      const moved = await s.get(appointment.id)
      expect(moved).toMatchObject({ start: target, status: 'booked', version: 2 })
      // The moved appointment holds its new time: no channel can sell it again.
      expect((await s.create(target)).statusCode).toBe(409)
      expect((await s.create(futureSlot(day, 11, 15))).statusCode).toBe(409)
      // …and the old time is free again.
      expect((await s.create(futureSlot(day, 9))).statusCode).toBe(201)
    })
  }

  it('defect 1 (I2): two concurrent deliveries of one overlapping Cal.com booking keep both slots held', async () => {
    const start = futureSlot(3, 9)
    const local = await s.createOk(start)
    await Promise.all([
      s.webhook('BOOKING_CREATED', { uid: 'dup-race-1', start: futureSlot(3, 9, 15) }),
      s.webhook('BOOKING_CREATED', { uid: 'dup-race-1', start: futureSlot(3, 9, 15) }),
    ])
    await s.settle()
    const calcom = await s.byUid('dup-race-1')
    expect(calcom).toMatchObject({ status: 'booked', origin: 'calcom', sync: { status: 'conflict' } })
    expect((await s.get(local.id)).sync.status).toBe('conflict')
    // Both minutes ranges stay held: 09:00–09:30 by the local one, 09:30–09:45 by Cal.com's.
    expect((await s.create(start)).statusCode).toBe(409)
    expect((await s.create(futureSlot(3, 9, 30))).statusCode).toBe(409)
    const items = (await s.reviewsOf('double_booking')).filter((item) => item.appointmentIds.includes(local.id))
    expect(items.map((item) => item.causeId).filter((id, i, all) => all.indexOf(id) === i)).toHaveLength(1)
  })

  it('defect 2: cancelling one side of a double booking leaves the other holding the whole slot', async () => {
    const start = futureSlot(4, 9)
    const local = await s.createOk(start)
    await s.webhook('BOOKING_CREATED', { uid: 'dbl-cancel-1', start })
    await s.settle()
    const calcom = await s.byUid('dbl-cancel-1')
    expect(calcom?.sync.status).toBe('conflict')
    expect((await s.cancel(local.id)).statusCode).toBe(200)
    await s.settle()
    // Cal.com's booking is still active at 09:00–09:30: that time must not be sold again.
    expect((await s.create(start)).statusCode).toBe(409)
    expect((await s.create(futureSlot(4, 9, 10))).statusCode).toBe(409)
    expect((await s.get(calcom?.id ?? '')).status).toBe('booked')
  })
})

describe('a change that waits too long for another change of its appointment', () => {
  let h: AppointmentsHarness
  let s: ReturnType<typeof scenario>
  beforeAll(async () => {
    h = await startAppointmentsHarness({ components: { apiLockWaitMs: 200 } })
    s = scenario(h)
  })
  afterAll(() => h.close())

  it('answers 503 with Retry-After and changes nothing, then goes through', async () => {
    const appointment = await s.createOk(futureSlot(20, 9))
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    // The reschedule must meet the lock held, not race its taking.
    let entered = () => {}
    const inside = new Promise<void>((resolve) => {
      entered = resolve
    })
    const holding = h.components.locks.withLock(appointment.id, { waitMs: 0 }, () => {
      entered()
      return held
    })
    await inside
    const busy = await s.reschedule(appointment.id, futureSlot(20, 11))
    expect(busy.statusCode).toBe(503)
    expect(busy.headers['retry-after']).toBe('1')
    expect(busy.json()).toMatchObject({ error: 'unavailable', message: expect.stringContaining('retry') })
    release()
    await holding
    expect(await s.get(appointment.id)).toMatchObject({ start: futureSlot(20, 9), version: 1 })
    expect((await s.reschedule(appointment.id, futureSlot(20, 11))).statusCode).toBe(200)
  })
})
