import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { quietLogger } from '../../../test/support/infra.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { minutesOf } from '../src/appointments/appointment.ts'
import { createClaimSweeper } from '../src/appointments/claim-sweeper.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'

const attendee = { name: 'Ana', email: 'ana@example.org', timeZone: 'UTC' }
const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN

describe('sweeper of changes left by stopped writers', () => {
  let h: AppointmentsHarness
  beforeAll(async () => {
    h = await startAppointmentsHarness()
  })
  afterAll(() => h.close())

  const create = (start: string) => h.api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1001, start, attendee })
  const sweeper = () =>
    createClaimSweeper({
      store: h.components.store,
      locks: h.components.locks,
      writer: h.components.writer,
      logger: quietLogger(),
      clock: () => new Date(Date.now() + 5 * 60_000),
    })

  /** What a writer that died after claiming a slot, before writing its event, leaves behind. */
  async function strandedClaim(appointmentId: string, start: string) {
    const end = new Date(Date.parse(start) + 30 * 60_000).toISOString()
    const minutes = minutesOf(start, end)
    const nonce = `dead-${appointmentId}`
    await h.components.store.pendingOps.insertOne({
      _id: appointmentId,
      tenantId: 'acme-dental',
      nonce,
      version: 1,
      resource: 'dr-jones',
      claimed: minutes,
      conflictIds: [],
      startedAt: new Date().toISOString(),
    })
    await h.components.store.claims.insertMany(
      minutes.map((minute) => ({
        _id: `acme-dental|dr-jones|${minute}`,
        tenantId: 'acme-dental',
        appointmentId,
        version: 1,
        op: nonce,
        day: minute.slice(0, 10),
        claimedAt: new Date().toISOString(),
      })),
    )
  }

  it('frees a slot left claimed by a writer that died before writing its change', async () => {
    const start = futureSlot(0, 10)
    await strandedClaim('apt_never_written', start)
    expect((await create(start)).statusCode).toBe(409)
    const live = await create(futureSlot(0, 12))
    expect(live.statusCode).toBe(201)
    expect(await sweeper()()).toBe(1)
    expect((await create(start)).statusCode).toBe(201)
    // The live appointment still holds its slot.
    expect((await create(futureSlot(0, 12, 10))).statusCode).toBe(409)
  })

  it('defect 9: finds the stranded claim however many live claims the book holds', async () => {
    // 40 live appointments: 1200 minute claims, all older than any stranded one.
    for (let i = 0; i < 40; i++)
      expect((await create(futureSlot(1 + Math.floor(i / 8), 8 + (i % 8)))).statusCode).toBe(201)
    const start = futureSlot(7, 10)
    await strandedClaim('apt_never_written_2', start)
    expect(await sweeper()()).toBe(1)
    expect((await create(start)).statusCode).toBe(201)
  })

  it('defect 9: two sweepers racing a cancel and a new booking never free a live claim', async () => {
    const start = futureSlot(8, 10)
    await strandedClaim('apt_never_written_3', start)
    const live = (await create(futureSlot(8, 12))).json()
    const [first, second, cancelled] = await Promise.all([
      sweeper()(),
      sweeper()(),
      h.api(ADMIN, 'POST', `/v1/appointments/${live.id}/cancel`, {}),
    ])
    expect(first + second).toBe(1)
    expect(cancelled.statusCode).toBe(200)
    const again = await create(futureSlot(8, 12))
    expect(again.statusCode).toBe(201)
    await Promise.all([sweeper()(), sweeper()()])
    // The new booking and the one made in the freed slot hold their minutes.
    expect((await create(futureSlot(8, 12, 15))).statusCode).toBe(409)
    expect((await create(start)).statusCode).toBe(201)
    expect((await create(futureSlot(8, 10, 5))).statusCode).toBe(409)
  })
})
