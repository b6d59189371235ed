import { AsyncLocalStorage } from 'node:async_hooks'
import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectTestNats, quietLogger, uniqueNames } from '../../../test/support/infra.ts'
import { type CallBudget, callBudgetKeyOf, openCallBudget } from '../src/calcom/call-budget.ts'

const LIMIT = 5
const WINDOW_MS = 1000

/** The most instants in one interval [s, s + windowMs), by brute force over every start at an instant. */
function busiestWindow(instants: number[], windowMs: number): number {
  return Math.max(0, ...instants.map((start) => instants.filter((t) => t >= start && t < start + windowMs).length))
}

/** Whether `promise` is still unsettled once the event loop has had `ms` to settle it. */
async function stillPending(promise: Promise<unknown>, ms = 150): Promise<boolean> {
  let settled = false
  promise.then(
    () => {
      settled = true
    },
    () => {
      settled = true
    },
  )
  await new Promise((resolve) => setTimeout(resolve, ms))
  return !settled
}

/**
 * A clock that tells which acquire read it, so a test learns the instant each call was counted
 * (the clock read of the acquire's winning write). Resolve instants would also carry the latency
 * of that write's answer, which varies from call to call, so only counted instants are exact.
 */
function countingClock() {
  const current = new AsyncLocalStorage<{ countedAt?: number }>()
  return {
    clock() {
      const now = Date.now()
      const slot = current.getStore()
      if (slot) slot.countedAt = now
      return now
    },
    /** Acquires one call and gives the instant it was counted. */
    async acquire(budget: CallBudget, key: string): Promise<number> {
      const slot: { countedAt?: number } = {}
      await current.run(slot, () => budget.acquire(key))
      if (slot.countedAt === undefined) throw new Error('the budget never read its clock')
      return slot.countedAt
    },
  }
}

describe('the Cal.com call budget shared through NATS KV', () => {
  // Two connections stand for two calcom-sync instances.
  let connections: NatsConnection[] = []
  beforeAll(async () => {
    connections = await Promise.all([connectTestNats(), connectTestNats()])
  })
  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()))
  })

  /** One budget per connection on a bucket of its own. */
  async function openPair(clock?: () => number): Promise<{ budgets: CallBudget[]; bucket: string }> {
    const bucket = uniqueNames().buckets.calcomBudget
    // Opened at once, as two instances starting together would.
    const budgets = await Promise.all(
      connections.map((nc) =>
        openCallBudget({
          js: nc,
          bucket,
          limit: LIMIT,
          windowMs: WINDOW_MS,
          logger: quietLogger(),
          ...(clock && { clock }),
        }),
      ),
    )
    return { budgets, bucket }
  }

  it('hashes the API key into the KV key', () => {
    const key = callBudgetKeyOf('cal_live_secret')
    expect(key).toMatch(/^k_[0-9a-f]{64}$/)
    expect(key).not.toContain('cal_live_secret')
    expect(callBudgetKeyOf('cal_live_secret')).toBe(key)
    expect(callBudgetKeyOf('cal_live_other')).not.toBe(key)
  })

  it('never counts more than the limit in any window across two instances', async () => {
    const counting = countingClock()
    const { budgets } = await openPair(counting.clock)
    const key = callBudgetKeyOf('shared-key')
    const counted = await Promise.all(
      Array.from({ length: 4 * LIMIT }, (_, i) => counting.acquire(budgets[i % 2] as CallBudget, key)),
    )
    expect(busiestWindow(counted, WINDOW_MS)).toBeLessThanOrEqual(LIMIT)
  })

  it('keeps separate budgets for separate keys, and abort stops a waiting acquire', async () => {
    // A frozen clock: a full window never frees, so "still waiting" is certain, not a race.
    const { budgets } = await openPair(() => 1_000_000)
    const [a, b] = budgets as [CallBudget, CallBudget]
    const full = callBudgetKeyOf('key-one')
    const other = callBudgetKeyOf('key-two')
    for (let i = 0; i < LIMIT; i++) await (i % 2 ? a : b).acquire(full)

    const controller = new AbortController()
    const waiting = a.acquire(full, controller.signal)
    // The other key still has its whole budget, on both instances.
    await Promise.all(Array.from({ length: LIMIT }, (_, i) => (i % 2 ? a : b).acquire(other)))
    expect(await stillPending(waiting)).toBe(true)

    const reason = new Error('calcom-sync is stopping')
    controller.abort(reason)
    await expect(waiting).rejects.toBe(reason)
    // An already aborted signal refuses at once.
    await expect(b.acquire(other, controller.signal)).rejects.toBe(reason)
  })

  it('stops both instances until the time given, and never shortens a block', async () => {
    const counting = countingClock()
    const { budgets, bucket } = await openPair(counting.clock)
    const [a, b] = budgets as [CallBudget, CallBudget]
    const key = callBudgetKeyOf('limited-key')
    await a.acquire(key)
    const until = Date.now() + 300
    await a.block(key, until)
    await b.block(key, until - 200) // a shorter report arriving later must not lift the block

    const kv = await new Kvm(connections[0] as NatsConnection).open(bucket)
    expect((await kv.get(key))?.json()).toMatchObject({ blockedUntil: until })

    const counted = await Promise.all([a, b, b].map((budget) => counting.acquire(budget, key)))
    for (const at of counted) expect(at).toBeGreaterThanOrEqual(until)
  })
})
