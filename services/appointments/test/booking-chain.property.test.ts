// Randomized histories of one appointment changed by staff and by the customer on Cal.com. What
// calcom-sync reports and what Cal.com sends back arrive in any order, some twice: calsync must
// end at Cal.com's truth, with one version per real change (echoes change nothing, I5).
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { futureSlot } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'
import { scenario } from './support/scenario.ts'

const RUNS = Number(process.env.CALSYNC_PROPERTY_RUNS ?? 10)
const HOURS = [9, 11, 13, 15] as const

const act = fc.record({
  by: fc.constantFrom('staff' as const, 'customer' as const),
  change: fc.constantFrom('move' as const, 'move' as const, 'move' as const, 'cancel' as const),
  hour: fc.integer({ min: 0, max: HOURS.length - 1 }),
})
const history = fc.record({
  madeBy: fc.constantFrom('staff' as const, 'customer' as const),
  acts: fc.array(act, { minLength: 1, maxLength: 5 }),
  /** A permutation key per message and whether it comes twice. */
  shuffle: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean()), {
    minLength: 30,
    maxLength: 30,
  }),
})

type History = typeof history extends fc.Arbitrary<infer T> ? T : never

describe('booking chain under random histories (I4, I5)', () => {
  let h: AppointmentsHarness
  let s: ReturnType<typeof scenario>
  let day = 60
  beforeAll(async () => {
    h = await startAppointmentsHarness()
    s = scenario(h)
  })
  afterAll(() => h.close())

  async function run({ madeBy, acts, shuffle }: History) {
    const runDay = day++
    const at = (hour: number) => futureSlot(runDay, HOURS[hour] ?? 9)
    const uid = (n: number) => `chain-${runDay}-${n}`
    let next = 0
    // Cal.com's truth: the current booking, where it is, whether it is cancelled.
    const truth = {
      uid: uid(next++),
      hour: 0,
      cancelled: false,
      version: 1,
      origin: madeBy === 'staff' ? 'admin' : 'calcom',
    }
    let id: string
    if (madeBy === 'staff') {
      id = (await s.createOk(at(0))).id
    } else {
      await s.webhook('BOOKING_CREATED', { uid: truth.uid, start: at(0) })
      await s.settle()
      const found = await s.byUid(truth.uid)
      if (!found) throw new Error('customer booking not applied')
      id = found.id
    }
    // Messages of staff changes wait in a pool and are delivered in a shuffled order, some twice.
    let pool: (() => Promise<unknown>)[] = []
    if (madeBy === 'staff') {
      const first = truth.uid
      pool.push(() => s.succeeded(id, 1, { action: 'created', uid: first, start: at(0) }))
      pool.push(() => s.webhook('BOOKING_CREATED', { uid: first, start: at(0), forAppointment: id }))
    }
    let key = 0
    async function flush() {
      const order = pool.map((send, i) => ({ send, rank: shuffle[(key + i) % shuffle.length] ?? [0, false] }))
      key += pool.length
      order.sort((a, b) => a.rank[0] - b.rank[0])
      for (const { send, rank } of order) {
        await send()
        if (rank[1]) await send()
      }
      pool = []
      await s.settle()
    }
    // The customer's webhooks of consecutive moves may overtake one another; staff act on what they see.
    let customerPending = false
    for (const step of acts) {
      if (truth.cancelled) break
      const from = truth.uid
      if (step.by === 'customer') {
        // The customer acts on Cal.com once calsync's own changes have reached it.
        if (!customerPending) await flush()
        customerPending = true
        truth.version++
        truth.origin = 'calcom'
        if (step.change === 'cancel') {
          truth.cancelled = true
          pool.push(() => s.webhook('BOOKING_CANCELLED', { uid: from, start: at(truth.hour) }))
        } else {
          const moved = uid(next++)
          truth.uid = moved
          truth.hour = step.hour
          pool.push(() =>
            s.webhook('BOOKING_RESCHEDULED', {
              uid: moved,
              rescheduleUid: from,
              start: at(step.hour),
              forAppointment: id,
            }),
          )
        }
        continue
      }
      if (step.change === 'move' && step.hour === truth.hour) continue
      if (customerPending) await flush()
      customerPending = false
      const answer = step.change === 'cancel' ? await s.cancel(id) : await s.reschedule(id, at(step.hour))
      if (answer.statusCode !== 200) throw new Error(`staff change answered ${answer.statusCode}: ${answer.body}`)
      truth.version++
      truth.origin = 'admin'
      const version = truth.version
      if (step.change === 'cancel') {
        truth.cancelled = true
        pool.push(() => s.succeeded(id, version, { action: 'cancelled', uid: from, previous: from }))
        pool.push(() => s.webhook('BOOKING_CANCELLED', { uid: from, start: at(truth.hour) }))
      } else {
        const moved = uid(next++)
        truth.uid = moved
        truth.hour = step.hour
        pool.push(() =>
          s.succeeded(id, version, { action: 'rescheduled', uid: moved, previous: from, start: at(step.hour) }),
        )
        pool.push(() =>
          s.webhook('BOOKING_RESCHEDULED', {
            uid: moved,
            rescheduleUid: from,
            start: at(step.hour),
            forAppointment: id,
          }),
        )
      }
    }
    await flush()
    const final = await s.get(id)
    expect(final).toMatchObject({
      version: truth.version,
      origin: truth.origin,
      status: truth.cancelled ? 'cancelled' : 'booked',
      calcomBookingUid: truth.uid,
      ...(truth.cancelled ? {} : { start: at(truth.hour) }),
    })
    // One version per real change: no echo was taken for a change.
    expect((await h.events(id)).map((event) => event.body.version)).toEqual(
      Array.from({ length: truth.version }, (_, i) => i + 1),
    )
    expect((await s.reviewsOf('unapplied_webhook')).filter((item) => item.appointmentIds.includes(id))).toEqual([])
  }

  it('ends at Cal.com’s truth for every generated history', async () => {
    await fc.assert(fc.asyncProperty(history, run), { numRuns: RUNS, endOnFailure: true })
  }, 300_000)
})
