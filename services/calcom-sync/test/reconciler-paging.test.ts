import type { TenantReconcileReport } from '@calsync/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Stack, startStack } from '../../../test/support/stack.ts'
import { ACME, futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { createReconcileCommands } from '../../review/src/reconcile/reconcile-commands.ts'
import { type CalcomClient, createCalcomClient } from '../src/calcom/calcom-client.ts'
import { walkBookings } from '../src/reconcile/booking-walk.ts'
import { acmeWebhooks, customerBooks, customerCancels, startSyncInstance } from './defects/support.ts'

const BOOKINGS = 600
const people = (n: number) => ({ name: `Patient ${n}`, email: `patient${n}@example.org`, timeZone: 'UTC' })
// Half-hour slots from 07:00 to 19:00 on consecutive days: distinct, never overlapping.
const slotOf = (n: number) => futureSlot(30 + Math.floor(n / 24), 7 + Math.floor((n % 24) / 2), (n % 2) * 30)

describe('the reconciler over many bookings', () => {
  let s: Stack
  let calcom: CalcomClient
  const uids: string[] = []
  beforeAll(async () => {
    s = await startStack({ startSync: false, sandboxRateLimit: 100_000 })
    acmeWebhooks(s, false)
    for (let n = 0; n < BOOKINGS; n++) uids.push((await customerBooks(s, slotOf(n), people(n))).uid)
    calcom = createCalcomClient({
      baseUrl: s.sandboxUrl,
      gate: { beforeCall: async () => {}, rateLimited: async () => {} },
    })
  }, 120_000)
  afterAll(async () => {
    await calcom?.close()
    await s?.close()
  })

  it('walks more than 250 bookings while they change under it, and misses none (plain offset paging would)', async () => {
    const apiKey = TEST_SECRETS.ACME_CALCOM_API_KEY
    const since = new Date(Date.now() - 60 * 60_000).toISOString()
    // Before every page, a customer cancels the earliest-updated booking not yet cancelled: it moves to
    // the end of the listing by update time, and every booking after it moves one place forward.
    let next = 0
    const changing = async () => {
      await customerCancels(s, uids[next++] as string)
    }
    const walked = await walkBookings({
      list: async (query) => {
        await changing()
        return calcom.listBookings(apiKey, query)
      },
      query: { eventTypeIds: '1001,1002' },
      field: 'updatedAt',
      since,
      maxCalls: 100,
    })
    expect(walked.truncated).toBe(false)
    expect(walked.calls).toBeGreaterThan(2)
    expect(uids.filter((uid) => !walked.bookings.has(uid))).toEqual([])
    // The later reading wins: a booking cancelled during the walk is seen as cancelled.
    expect(walked.bookings.get(uids[0] as string)?.status).toBe('cancelled')

    // The same listing by offset alone, under the same changes, loses bookings.
    const seen = new Set<string>()
    for (let skip = 0; ; skip += 250) {
      await changing()
      const page = await calcom.listBookings(apiKey, {
        eventTypeIds: '1001,1002',
        afterUpdatedAt: since,
        sortUpdatedAt: 'asc',
        take: 250,
        skip,
      })
      for (const booking of page.bookings) seen.add(booking.uid)
      if (!page.hasNextPage) break
    }
    expect(uids.filter((uid) => !seen.has(uid)).length).toBeGreaterThan(0)
  })

  it('spends at most its share of the tenant’s Cal.com budget in any window, and syncs keep going meanwhile', async () => {
    // 10 calls per second per key for everyone, of which the reconciler may take 2.
    const windowMs = 1000
    const sync = await startSyncInstance(s, 'budget', {
      tenantCallsPerMinute: 10,
      budgetWindowMs: windowMs,
      reconcileBudgetShare: 0.2,
    })
    try {
      const first = s.sandbox.requests().length
      const commands = createReconcileCommands({ nc: s.appointments.nc, names: s.names, timeoutMs: 120_000 })
      const pass = commands.reconcile({
        type: 'calcom_sync.reconcile',
        tenantId: ACME,
        dryRun: true,
        requestedBy: 'test',
      })
      // Local bookings made while the pass walks Cal.com.
      const created = []
      for (let n = 0; n < 3; n++) {
        const response = await s.appointments.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'POST', '/v1/appointments', {
          eventTypeId: 1002,
          start: futureSlot(29, 8 + n),
          attendee: people(1000 + n),
        })
        created.push(response.json().id as string)
      }
      const reply = await pass
      const report = reply.tenants[0] as TenantReconcileReport
      expect(report.error).toBeUndefined()
      expect(report.bookingsSeen).toBeGreaterThanOrEqual(BOOKINGS)
      // Every open booking calsync does not know is a difference; the reply lists 500 and counts them all.
      expect(report.differencesTotal).toBeGreaterThan(500)
      expect(report.differences).toHaveLength(500)
      expect(report.calcomCalls).toBeGreaterThan(4)

      const calls = s.sandbox.requests().slice(first)
      const reconcilerCalls = calls.filter((call) => call.method === 'GET' && call.path.includes('eventTypeIds='))
      expect(reconcilerCalls).toHaveLength(report.calcomCalls)
      // No window of `windowMs` holds more than the share (2) of the reconciler's calls. The budget
      // counts a call when it takes its turn; the log, when the sandbox received it: the window
      // read here is shorter by an allowance for the request's way there.
      const times = reconcilerCalls.map((call) => Date.parse(call.at)).sort((a, b) => a - b)
      const arrival = 150
      const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + windowMs - arrival).length))
      expect(busiest).toBeLessThanOrEqual(2)
      // The syncs' creates went through during the pass, not after it.
      const lastReconcilerCall = Math.max(...times)
      const creates = calls.filter((call) => call.method === 'POST' && call.path === '/v2/bookings')
      expect(creates.length).toBeGreaterThanOrEqual(created.length)
      expect(Math.min(...creates.map((call) => Date.parse(call.at)))).toBeLessThan(lastReconcilerCall)
    } finally {
      await sync.stop()
    }
  })
})
