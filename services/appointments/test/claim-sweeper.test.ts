import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { quietLogger } from '../../../test/support/infra.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { minutesOf } from '../src/appointments/appointment.ts'
import { createClaimSweeper } from '../src/appointments/claim-sweeper.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'

const attendee = { name: 'Ana', email: 'ana@example.org', timeZone: 'UTC' }

describe('slot claim sweeper', () => {
  let h: AppointmentsHarness
  beforeAll(async () => {
    h = await startAppointmentsHarness()
  })
  afterAll(() => h.close())

  it('frees a slot left claimed by a writer that died before writing its change', async () => {
    const start = futureSlot(0, 10)
    const end = new Date(Date.parse(start) + 30 * 60_000).toISOString()
    const claimedAt = new Date(Date.now() - 10 * 60_000).toISOString()
    await h.components.store.claims.insertMany(
      minutesOf(start, end).map((minute) => ({
        _id: `acme-dental|dr-jones|${minute}`,
        tenantId: 'acme-dental',
        appointmentId: 'apt_never_written',
        claimedAt,
      })),
    )
    const create = () =>
      h.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'POST', '/v1/appointments', { eventTypeId: 1001, start, attendee })
    expect((await create()).statusCode).toBe(409)

    // A live appointment's claims survive the sweep; the orphan's do not.
    const live = await h.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'POST', '/v1/appointments', {
      eventTypeId: 1001,
      start: futureSlot(0, 12),
      attendee,
    })
    expect(live.statusCode).toBe(201)
    const sweep = createClaimSweeper({
      store: h.components.store,
      logger: quietLogger(),
      clock: () => new Date(Date.now() + 5 * 60_000),
    })
    expect(await sweep()).toBe(30)
    expect((await create()).statusCode).toBe(201)
    expect(await h.components.store.claims.countDocuments({ appointmentId: live.json().id })).toBe(30)
  })
})
