// Randomized schedules of local and Cal.com changes on a few overlapping slots, some at the same
// moment, some delivered twice: afterwards I1/I2 hold and every claim is accounted for.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook } from '../../../test/support/calcom-webhooks.ts'
import { ACME, futureSlot } from '../../../test/support/tenants.ts'
import { minutesOf } from '../src/appointments/appointment.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'
import { ADMIN, type AppointmentJson, scenario } from './support/scenario.ts'

const RUNS = Number(process.env.CALSYNC_PROPERTY_RUNS ?? 10)
const EVENT_TYPES = [1001, 1002] as const
const SLOTS = [
  [9, 0],
  [9, 15],
  [9, 30],
  [10, 0],
] as const

type Op =
  | { kind: 'create'; eventType: number; slot: number; copies: number }
  | { kind: 'reschedule'; target: number; slot: number; copies: number }
  | { kind: 'cancel'; target: number; copies: number }
  | { kind: 'calcomBook'; eventType: number; slot: number; copies: number }
  | { kind: 'calcomMove'; target: number; slot: number; copies: number }
  | { kind: 'calcomCancel'; target: number; copies: number }

const eventType = fc.constantFrom(...EVENT_TYPES)
const slot = fc.integer({ min: 0, max: SLOTS.length - 1 })
const target = fc.nat({ max: 5 })
const copies = fc.integer({ min: 1, max: 3 })
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), eventType, slot, copies }),
  fc.record({ kind: fc.constant('reschedule' as const), target, slot, copies }),
  fc.record({ kind: fc.constant('cancel' as const), target, copies }),
  fc.record({ kind: fc.constant('calcomBook' as const), eventType, slot, copies }),
  fc.record({ kind: fc.constant('calcomMove' as const), target, slot, copies }),
  fc.record({ kind: fc.constant('calcomCancel' as const), target, copies }),
)
/** Ops in batches that run at the same moment. */
const schedule = fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 6 })

describe('slot invariants under random schedules (I1, I2)', () => {
  let h: AppointmentsHarness
  let s: ReturnType<typeof scenario>
  let day = 40
  beforeAll(async () => {
    h = await startAppointmentsHarness()
    s = scenario(h)
  })
  afterAll(() => h.close())

  async function run(batches: Op[][]) {
    const runDay = day++
    const at = (index: number) => futureSlot(runDay, SLOTS[index]?.[0] ?? 9, SLOTS[index]?.[1] ?? 0)
    const local: string[] = []
    // Each Cal.com booking: its event type and the uid it has now (a move makes a new one).
    const calcom: { eventType: number; uid: string; hops: number; cancelled: boolean }[] = []
    const uid = (index: number, hops: number) => `prop-${runDay}-${index}-${hops}`
    const times = <T>(n: number, f: () => Promise<T>) => Promise.all(Array.from({ length: n }, f))

    async function apply(step: Op) {
      switch (step.kind) {
        case 'create': {
          const answers = await times(step.copies, () => s.create(at(step.slot), step.eventType))
          for (const answer of answers) if (answer.statusCode === 201) local.push(answer.json().id)
          return
        }
        case 'reschedule':
        case 'cancel': {
          const id = local[step.target % Math.max(local.length, 1)]
          if (!id) return
          await times(step.copies, () => (step.kind === 'cancel' ? s.cancel(id) : s.reschedule(id, at(step.slot))))
          return
        }
        case 'calcomBook': {
          const index =
            calcom.push({ eventType: step.eventType, uid: uid(calcom.length, 0), hops: 0, cancelled: false }) - 1
          const booking = calcom[index]
          if (!booking) return
          const webhook = bookingWebhook('BOOKING_CREATED', {
            uid: booking.uid,
            eventTypeId: booking.eventType,
            start: at(step.slot),
          })
          await times(step.copies, () => h.deliverWebhook(ACME, webhook))
          return
        }
        case 'calcomMove':
        case 'calcomCancel': {
          const index = step.target % Math.max(calcom.length, 1)
          const booking = calcom[index]
          if (!booking || booking.cancelled) return
          const from = booking.uid
          if (step.kind === 'calcomCancel') {
            booking.cancelled = true
            const webhook = bookingWebhook('BOOKING_CANCELLED', {
              uid: from,
              eventTypeId: booking.eventType,
              start: at(0),
            })
            await times(step.copies, () => h.deliverWebhook(ACME, webhook))
            return
          }
          booking.hops++
          booking.uid = uid(index, booking.hops)
          const webhook = bookingWebhook('BOOKING_RESCHEDULED', {
            uid: booking.uid,
            rescheduleUid: from,
            eventTypeId: booking.eventType,
            start: at(step.slot),
          })
          await times(step.copies, () => h.deliverWebhook(ACME, webhook))
        }
      }
    }

    for (const batch of batches) await Promise.all(batch.map(apply))
    await s.settle()
    await check(runDay)
  }

  async function check(runDay: number) {
    const from = futureSlot(runDay, 0)
    const to = futureSlot(runDay + 1, 0)
    const listed: AppointmentJson[] = (
      await h.api(ADMIN, 'GET', `/v1/appointments?from=${from}&to=${to}&limit=200`)
    ).json().items
    const booked = listed.filter((item) => item.status === 'booked')
    const reviews = (await h.reviews())
      .filter((message) => message.body.kind === 'double_booking')
      .map((message) => message.body)
    const overlap = (a: AppointmentJson, b: AppointmentJson) =>
      a.resource === b.resource && Date.parse(a.start) < Date.parse(b.end) && Date.parse(b.start) < Date.parse(a.end)
    for (const a of booked) {
      for (const b of booked) {
        if (a.id >= b.id || !overlap(a, b)) continue
        // I1 by the API, I2 for what Cal.com sold: both kept, both flagged, one item names them.
        expect([a.sync.status, b.sync.status], `${a.id} and ${b.id} overlap`).toEqual(['conflict', 'conflict'])
        expect(reviews.some((item) => item.appointmentIds.includes(a.id) && item.appointmentIds.includes(b.id))).toBe(
          true,
        )
      }
    }
    const claims = await h.components.store.claims.find({ day: from.slice(0, 10) }).toArray()
    const owner = new Map(
      claims.map((claim) => [claim._id.slice(claim._id.lastIndexOf('|') + 1) + claim._id.split('|')[1], claim]),
    )
    for (const a of booked) {
      for (const minute of minutesOf(a.start, a.end)) {
        const claim = owner.get(minute + a.resource)
        // Held by the appointment itself, or by an overlapping booked partner of a double booking.
        const holder = booked.find((b) => b.id === claim?.appointmentId)
        expect(
          holder && (holder.id === a.id || overlap(holder, a)),
          `${a.id} ${minute} held by ${claim?.appointmentId}`,
        ).toBe(true)
      }
    }
    for (const claim of claims) {
      const minute = claim._id.slice(claim._id.lastIndexOf('|') + 1)
      const holder = booked.find((b) => b.id === claim.appointmentId)
      expect(holder && minutesOf(holder.start, holder.end).includes(minute), `claim ${claim._id} left behind`).toBe(
        true,
      )
    }
    expect(await h.components.store.pendingOps.countDocuments({})).toBe(0)
  }

  it('holds for every generated schedule', async () => {
    await fc.assert(fc.asyncProperty(schedule, run), { numRuns: RUNS, endOnFailure: true })
  }, 300_000)
})
