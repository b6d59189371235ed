// Defects 3 and 4: a failure right after the durable event insert must neither free the slot nor
// lose the double-booking report (I1, I2, I3). The hook throws where a crash would stop the work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { futureSlot } from '../../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from '../support/harness.ts'
import { scenario } from '../support/scenario.ts'

describe('a failure right after the event insert', () => {
  let h: AppointmentsHarness
  let s: ReturnType<typeof scenario>
  /** Origins whose next event write fails once, right after the insert. */
  const failNext = new Set<string>()
  beforeAll(async () => {
    h = await startAppointmentsHarness({
      components: {
        afterEventWrite: (event) => {
          if (failNext.delete(event.origin)) throw new Error('injected failure after the event insert')
        },
      },
    })
    s = scenario(h)
  })
  afterAll(() => h.close())

  it('defect 3: keeps the slot and the Idempotency-Key answer of a create whose projection failed', async () => {
    const start = futureSlot(5, 9)
    failNext.add('admin')
    const headers = { 'idempotency-key': 'crash-after-insert-1' }
    const first = await s.create(start, 1001, headers)
    const retry = await s.create(start, 1001, headers)
    expect(retry.statusCode, retry.body).toBe(201)
    if (first.statusCode === 201) expect(retry.json().id).toBe(first.json().id)
    await s.settle()
    // One appointment at that time, holding it: the retry did not book it a second time.
    const atThatTime = (await s.listed()).filter((item) => item.start === start && item.status === 'booked')
    expect(atThatTime.map((item) => item.id)).toEqual([retry.json().id])
    expect((await s.create(start)).statusCode).toBe(409)
    expect((await s.create(futureSlot(5, 9, 20))).statusCode).toBe(409)
  })

  it('defect 4: reports a double booking whose first handling stopped after the appointment was written', async () => {
    const start = futureSlot(6, 9)
    const local = await s.createOk(start)
    failNext.add('calcom')
    await s.webhook('BOOKING_CREATED', { uid: 'crash-dbl-1', start })
    await s.settle()
    const calcom = await s.byUid('crash-dbl-1')
    expect(calcom).toMatchObject({ status: 'booked', sync: { status: 'conflict' } })
    expect((await s.get(local.id)).sync.status).toBe('conflict')
    const items = await s.reviewsOf('double_booking')
    expect(
      items.some((item) => item.appointmentIds.includes(local.id) && item.appointmentIds.includes(calcom?.id ?? '')),
    ).toBe(true)
  })
})
