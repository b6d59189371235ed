// What is needed only for a while is pruned (issue 14, bounded growth): claims of days gone by,
// idempotency answers past their window, waits of webhooks long done. The live book is untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { quietLogger } from '../../../test/support/infra.ts'
import { ACME, futureSlot } from '../../../test/support/tenants.ts'
import { createRetention } from '../src/appointments/retention.ts'
import { createWebhookWaits, type WaitDoc } from '../src/calcom/webhook-waits.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'
import { scenario } from './support/scenario.ts'

const HOUR = 3_600_000

/** An `Idempotency-Key` answer as the service stores it. */
const answer = (name: string, createdAt: string) => ({
  _id: `${ACME}|${name}`,
  tenantId: ACME,
  fingerprint: 'f',
  state: 'done' as const,
  statusCode: 201,
  body: {},
  createdAt,
  hour: createdAt.slice(0, 13),
})

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
    // As answers were stored before they carried their hour.
    const key = (name: string, hoursAgo: number) => {
      const { hour: _, ...unbucketed } = answer(name, new Date(Date.now() - hoursAgo * HOUR).toISOString())
      return unbucketed
    }
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

  it('deletes bucket by bucket with equality filters once the records without buckets have expired', async () => {
    const { store } = h.components
    // Days after the first test's pass, whose watermarks this one goes on from.
    let now = Date.now() + 3 * 24 * HOUR
    const prune = createRetention({
      store,
      waits: createWebhookWaits(h.db),
      logger: quietLogger(),
      options: { claimsMs: 48 * HOUR, idempotencyMs: 24 * HOUR },
      clock: () => new Date(now),
    })
    // A first pass sets the watermarks; two days on, every legacy window is over.
    await prune()
    now += 50 * HOUR
    const at = (msAgo: number) => new Date(now - msAgo).toISOString()
    const claimDay = at(4 * 24 * HOUR).slice(0, 10)
    await store.claims.insertOne({
      _id: `${ACME}|dr-jones|${claimDay}T09:00`,
      tenantId: ACME,
      appointmentId: 'apt_bucketed',
      version: 1,
      op: 'seeded',
      day: claimDay,
      claimedAt: at(4 * 24 * HOUR),
    })
    await store.idempotency.insertMany([answer('bucketed-key', at(26 * HOUR)), answer('bucketed-fresh', at(HOUR))])
    const filters: unknown[] = []
    const listener = (event: { commandName: string; command: { deletes?: Array<{ q: unknown }> } }) => {
      if (event.commandName === 'delete') filters.push(...(event.command.deletes ?? []).map((d) => d.q))
    }
    h.db.client.on('commandStarted', listener)
    try {
      expect(await prune()).toMatchObject({ claims: 1, idempotencyKeys: 1 })
    } finally {
      h.db.client.off('commandStarted', listener)
    }
    expect(await store.idempotency.findOne({ _id: `${ACME}|bucketed-fresh` })).not.toBeNull()
    // Every delete an equality on the bucket: FerretDB pushes it down, no range reads the collection.
    expect(filters.length).toBeGreaterThan(0)
    for (const filter of filters) {
      expect(
        Object.values(filter as object).every((value) => typeof value === 'string'),
        JSON.stringify(filter),
      ).toBe(true)
    }
  })
})
