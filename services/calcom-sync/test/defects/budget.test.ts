// Defect 8: the tenant's call budget is per Cal.com API key, shared by every calcom-sync
// instance: two instances together stay within it, so Cal.com never answers 429.
import { describe, expect, it } from 'vitest'
import { eventually } from '../../../../test/support/infra.ts'
import { startStack } from '../../../../test/support/stack.ts'
import { futureSlot } from '../../../../test/support/tenants.ts'
import { createAppointment, perTest, startSyncInstance, syncConsumerIdle, syncStatesOf } from './support.ts'

const BUDGET = 20
const SANDBOX_LIMIT = 22
const BURST = 24

describe('the call budget of a tenant across instances', () => {
  const held = perTest()

  it('defect 8: two instances together stay within the per-key budget: no 429 from Cal.com, all synced', async () => {
    // Budget 20 calls/min per key, Cal.com allows 22; two instances get 24 new appointments at once.
    const s = await startStack({ startSync: false, sandboxRateLimit: SANDBOX_LIMIT })
    held.stack = s
    for (const name of ['a', 'b']) {
      held.instances.push(
        await startSyncInstance(s, name, { tenantCallsPerMinute: BUDGET, backoffMs: [1000, 2000, 4000] }),
      )
    }
    const ids: string[] = []
    for (let i = 0; i < BURST; i++) ids.push((await createAppointment(s, futureSlot(i % 6, 8 + Math.floor(i / 6)))).id)

    const throttled = () => s.sandbox.requests().filter((request) => request.status === 429)
    // A `conflict` (a double booking the appointments service reports) is no calcom-sync failure.
    const notSynced = async () =>
      [...(await syncStatesOf(s, ids)).values()].filter((status) => status !== 'synced' && status !== 'conflict').length
    // Ends at the first 429 (that is the defect), or once all are synced, or nothing is left to deliver.
    await eventually(
      'all synced, a 429, or calcom-sync idle',
      async () =>
        throttled().length > 0 || (await notSynced()) === 0 || (await syncConsumerIdle(s)) ? true : undefined,
      90_000,
    )
    const calls = s.sandbox.requests()
    expect(
      throttled().length,
      `answers 429 among ${calls.length} calls, the first after ${calls.findIndex((request) => request.status === 429)}`,
    ).toBe(0)
    await eventually('all synced', async () => ((await notSynced()) === 0 ? true : undefined), 20_000)
  }, 120_000)
})
