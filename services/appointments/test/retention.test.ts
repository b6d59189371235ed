// What is needed only for a while is pruned (issue 14, bounded growth): claims of days gone by,
// idempotency answers past their window, waits of webhooks long done. The live book is untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACME, futureSlot } from '../../../test/support/tenants.ts'
import type { WaitDoc } from '../src/calcom/webhook-waits.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'
import { scenario } from './support/scenario.ts'

const HOUR = 3_600_000

describe('retention', () => {
  let h: AppointmentsHarness
  let s: ReturnType<typeof scenario>
  beforeAll(async () => {
    h = await startAppointmentsHarness({ components: { retention: { claimsMs: 48 * HOUR, idempotencyMs: 24 * HOUR } } })
    s = scenario(h)
  })
  afterAll(() => h.close())

  const dayOf = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().slice(0, 10)

  it('prunes past claims, old idempotency answers and old waits, and keeps the live book', async () => {
    const { store } = h.components
    // Claims of past days, as appointments that have ended leave them (seeded: they are history).
    const claim = (day: string, minute: string) => ({
      _id: `${ACME}|dr-jones|${day}T${minute}`,
      tenantId: ACME,
      appointmentId: `apt_past_${day}`,
      version: 1,
      op: 'seeded',
      day,
      claimedAt: new Date().toISOString(),
    })
    const longGone = dayOf(5 * 24 * HOUR)
    const yesterday = dayOf(24 * HOUR)
    await store.claims.insertMany([claim(longGone, '09:00'), claim(longGone, '09:01'), claim(yesterday, '09:00')])
    const key = (name: string, hoursAgo: number) => ({
      _id: `${ACME}|${name}`,
      tenantId: ACME,
      fingerprint: 'f',
      state: 'done' as const,
      statusCode: 201,
      body: {},
      createdAt: new Date(Date.now() - hoursAgo * HOUR).toISOString(),
    })
    await store.idempotency.insertMany([key('old-key', 30), key('fresh-key', 1)])
    const waits = h.db.collection<WaitDoc>('webhook_waits')
    await waits.insertMany([
      { _id: `${ACME}|old-wait`, tenantId: ACME, firstLookedAt: new Date(Date.now() - 30 * HOUR).toISOString() },
      { _id: `${ACME}|fresh-wait`, tenantId: ACME, firstLookedAt: new Date().toISOString() },
    ])
    // The live book: an appointment ahead, with its claims.
    const live = await s.createOk(futureSlot(3, 10))

    const report = await h.components.prune()
    expect(report).toMatchObject({ claims: 2, idempotencyKeys: 1, webhookWaits: 1 })
    expect(await store.claims.countDocuments({ day: longGone })).toBe(0)
    // Yesterday's claims stay for the retention after their day.
    expect(await store.claims.countDocuments({ day: yesterday })).toBe(1)
    expect(await store.idempotency.findOne({ _id: `${ACME}|old-key` })).toBeNull()
    expect(await store.idempotency.findOne({ _id: `${ACME}|fresh-key` })).not.toBeNull()
    expect(await waits.findOne({ _id: `${ACME}|old-wait` })).toBeNull()
    expect(await waits.findOne({ _id: `${ACME}|fresh-wait` })).not.toBeNull()
    // The appointment ahead still holds its slot.
    expect((await s.create(futureSlot(3, 10, 15))).statusCode).toBe(409)
    expect((await s.get(live.id)).status).toBe('booked')
    // A second pass finds nothing more.
    expect(await h.components.prune()).toEqual({ claims: 0, idempotencyKeys: 0, webhookWaits: 0 })
  })
})
