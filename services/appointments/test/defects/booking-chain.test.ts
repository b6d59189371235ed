// Defects 5–8: calsync follows each appointment's Cal.com booking chain from what it and the
// customer did, so echoes are recognised by calsync's own actions and hops apply in chain order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { futureSlot } from '../../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from '../support/harness.ts'
import { scenario } from '../support/scenario.ts'

describe('the Cal.com booking chain of an appointment', () => {
  let h: AppointmentsHarness
  let s: ReturnType<typeof scenario>
  beforeAll(async () => {
    h = await startAppointmentsHarness()
    s = scenario(h)
  })
  afterAll(() => h.close())

  it("defect 5: applies a customer's move back to an earlier time instead of taking it for an echo", async () => {
    const t1 = futureSlot(7, 9)
    const t2 = futureSlot(7, 11)
    const a = await s.createOk(t1)
    await s.succeeded(a.id, 1, { action: 'created', uid: 'back-1', start: t1 })
    await s.webhook('BOOKING_CREATED', { uid: 'back-1', start: t1, forAppointment: a.id })
    await s.webhook('BOOKING_RESCHEDULED', { uid: 'back-2', rescheduleUid: 'back-1', start: t2, forAppointment: a.id })
    await s.waitFor(a.id, 'the move to T2', (found) => found.start === t2)
    await s.webhook('BOOKING_RESCHEDULED', { uid: 'back-3', rescheduleUid: 'back-2', start: t1, forAppointment: a.id })
    await s.settle()
    expect(await s.get(a.id)).toMatchObject({ start: t1, origin: 'calcom', version: 3, calcomBookingUid: 'back-3' })
    expect((await s.create(t1)).statusCode).toBe(409)
    expect((await s.create(t2)).statusCode).toBe(201)
  })

  it("defect 6: the echo of calsync's own reschedule of a customer's booking does not drag it back", async () => {
    const [t1, t2, t3] = [futureSlot(8, 9), futureSlot(8, 11), futureSlot(8, 13)]
    await s.webhook('BOOKING_CREATED', { uid: 'drag-1', start: t1 })
    await s.settle()
    const c = await s.byUid('drag-1')
    if (!c) throw new Error('the customer booking was not applied')
    expect((await s.reschedule(c.id, t2)).statusCode).toBe(200)
    expect((await s.reschedule(c.id, t3)).statusCode).toBe(200)
    // Cal.com sends its webhook during calcom-sync's request: before the sync result.
    await s.webhook('BOOKING_RESCHEDULED', { uid: 'drag-2', rescheduleUid: 'drag-1', start: t2 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    await s.succeeded(c.id, 2, { action: 'rescheduled', uid: 'drag-2', previous: 'drag-1', start: t2 })
    await s.webhook('BOOKING_RESCHEDULED', { uid: 'drag-3', rescheduleUid: 'drag-2', start: t3 })
    await s.succeeded(c.id, 3, { action: 'rescheduled', uid: 'drag-3', previous: 'drag-2', start: t3 })
    await s.settle()
    expect(await s.get(c.id)).toMatchObject({ start: t3, version: 3, origin: 'admin', calcomBookingUid: 'drag-3' })
    expect((await s.create(t3)).statusCode).toBe(409)
  })

  it('defect 6 (variant): a late echo of a move does not revive an appointment cancelled after it', async () => {
    const [t1, t2] = [futureSlot(9, 9), futureSlot(9, 11)]
    await s.webhook('BOOKING_CREATED', { uid: 'revive-1', start: t1 })
    await s.settle()
    const c = await s.byUid('revive-1')
    if (!c) throw new Error('the customer booking was not applied')
    expect((await s.reschedule(c.id, t2)).statusCode).toBe(200)
    expect((await s.cancel(c.id)).statusCode).toBe(200)
    await s.webhook('BOOKING_RESCHEDULED', { uid: 'revive-2', rescheduleUid: 'revive-1', start: t2 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    await s.succeeded(c.id, 2, { action: 'rescheduled', uid: 'revive-2', previous: 'revive-1', start: t2 })
    await s.succeeded(c.id, 3, { action: 'cancelled', uid: 'revive-2', previous: 'revive-2' })
    await s.webhook('BOOKING_CANCELLED', { uid: 'revive-2', start: t2 })
    await s.settle()
    expect(await s.get(c.id)).toMatchObject({ status: 'cancelled', version: 3 })
    expect((await s.create(t2)).statusCode).toBe(201)
  })

  it('defect 7: reschedules of a calsync-made booking delivered in reverse order end at the newest hop', async () => {
    const [t1, t2, t3] = [futureSlot(10, 9), futureSlot(10, 11), futureSlot(10, 13)]
    const a = await s.createOk(t1)
    await s.succeeded(a.id, 1, { action: 'created', uid: 'rev-1', start: t1 })
    await s.webhook('BOOKING_RESCHEDULED', { uid: 'rev-3', rescheduleUid: 'rev-2', start: t3, forAppointment: a.id })
    await s.webhook('BOOKING_RESCHEDULED', { uid: 'rev-2', rescheduleUid: 'rev-1', start: t2, forAppointment: a.id })
    await s.settle()
    expect(await s.get(a.id)).toMatchObject({ start: t3, calcomBookingUid: 'rev-3', status: 'booked' })
    await s.webhook('BOOKING_CANCELLED', { uid: 'rev-3', start: t3 })
    await s.settle()
    expect(await s.get(a.id)).toMatchObject({ status: 'cancelled', origin: 'calcom' })
    expect((await s.create(t3)).statusCode).toBe(201)
  })

  it('defect 8: the current booking uid is the end of the chain, whatever order sync results arrive in', async () => {
    const [t1, t2, t3] = [futureSlot(11, 9), futureSlot(11, 11), futureSlot(11, 13)]
    const a = await s.createOk(t1)
    await s.succeeded(a.id, 1, { action: 'created', uid: 'order-1', start: t1 })
    expect((await s.reschedule(a.id, t2)).statusCode).toBe(200)
    expect((await s.reschedule(a.id, t3)).statusCode).toBe(200)
    await s.succeeded(a.id, 3, { action: 'rescheduled', uid: 'order-3', previous: 'order-2', start: t3 })
    await s.settle()
    await s.succeeded(a.id, 2, { action: 'rescheduled', uid: 'order-2', previous: 'order-1', start: t2 })
    await s.settle()
    expect(await s.get(a.id)).toMatchObject({ calcomBookingUid: 'order-3', sync: { status: 'synced' } })
    await s.webhook('BOOKING_CANCELLED', { uid: 'order-3', start: t3 })
    await s.settle()
    expect(await s.get(a.id)).toMatchObject({ status: 'cancelled', origin: 'calcom' })
  })
})
