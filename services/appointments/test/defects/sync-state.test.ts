// Defect 12: sync results are applied monotonically, so the sync state never goes backwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { futureSlot } from '../../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from '../support/harness.ts'
import { scenario } from '../support/scenario.ts'

describe('the sync state of an appointment', () => {
  let h: AppointmentsHarness
  let s: ReturnType<typeof scenario>
  beforeAll(async () => {
    h = await startAppointmentsHarness()
    s = scenario(h)
  })
  afterAll(() => h.close())

  it('defect 12: a late attempt_failed of a version already synced leaves it synced', async () => {
    const a = await s.createOk(futureSlot(17, 9))
    await s.succeeded(a.id, 1, { action: 'created', uid: 'mono-1', start: a.start, attempt: 2 })
    await s.waitFor(a.id, 'synced', (found) => found.sync.status === 'synced')
    await s.attemptFailed(a.id, 1, 1)
    await s.settle()
    expect(await s.get(a.id)).toMatchObject({ sync: { status: 'synced', attempts: 2 }, calcomBookingUid: 'mono-1' })
  })

  it('defect 12: results of one appointment applied at the same time all count', async () => {
    const a = await s.createOk(futureSlot(17, 11))
    await s.succeeded(a.id, 1, { action: 'created', uid: 'conc-1', start: a.start })
    expect((await s.reschedule(a.id, futureSlot(17, 13))).statusCode).toBe(200)
    await Promise.all([
      s.attemptFailed(a.id, 2, 1),
      s.succeeded(a.id, 2, {
        action: 'rescheduled',
        uid: 'conc-2',
        previous: 'conc-1',
        start: futureSlot(17, 13),
        attempt: 2,
      }),
    ])
    await s.settle()
    expect(await s.get(a.id)).toMatchObject({ sync: { status: 'synced', attempts: 2 }, calcomBookingUid: 'conc-2' })
  })
})
