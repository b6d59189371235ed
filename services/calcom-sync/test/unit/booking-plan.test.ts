import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type BookingStep,
  type Desired,
  familyOf,
  type InFlightCall,
  isActive,
  type ObservedBooking,
  type PlannedCall,
  planCalls,
} from '../../src/sync/booking-plan.ts'

const APT = 'apt_1'
const T1 = '2030-05-01T09:00:00.000Z'
const T2 = '2030-05-01T11:00:00.000Z'
const T3 = '2030-05-01T14:00:00.000Z'

const booking = (uid: string, fields: Partial<ObservedBooking> = {}): ObservedBooking => ({
  uid,
  status: 'accepted',
  start: T1,
  rescheduledFromUid: null,
  rescheduledToUid: null,
  appointmentId: APT,
  createdAt: `2030-01-01T00:00:0${uid.length % 10}.000Z`,
  ...fields,
})
/** `from` moved to `to` (Cal.com's reschedule: old cancelled, new one linked both ways unless hidden). */
const moved = (from: ObservedBooking, to: string, start: string, links: 'both' | 'from-only' = 'both') => [
  { ...from, status: 'cancelled', rescheduledToUid: links === 'both' ? to : null },
  booking(to, { start, rescheduledFromUid: from.uid, appointmentId: from.appointmentId }),
]
const booked = (start: string): Desired => ({ appointmentId: APT, status: 'booked', start })
const cancelled: Desired = { appointmentId: APT, status: 'cancelled', start: T1 }
const ours = (action: BookingStep['action'], uid: string, previous: string | null = null): BookingStep => ({
  action,
  uid,
  previousBookingUid: previous,
  by: 'calsync',
})

interface Row {
  name: string
  desired: Desired
  bookings: ObservedBooking[]
  known?: string[]
  steps?: BookingStep[]
  inFlight?: InFlightCall | null
  preferred?: string | null
  calls?: PlannedCall[]
  refused?: 'cancelled_on_calcom'
  /** "<action> <uid> <by>, …": the steps the plan attributes, in order. */
  observed?: string
}

const rows: Row[] = [
  {
    name: 'nothing on Cal.com, booked → create',
    desired: booked(T1),
    bookings: [],
    calls: [{ kind: 'create', start: T1 }],
  },
  {
    name: 'a lost create found by metadata → nothing to do, reported as our create',
    desired: booked(T1),
    bookings: [booking('u1')],
    inFlight: { kind: 'create', version: 1, uid: null, start: T1 },
    calls: [],
    observed: 'created u1 calsync',
  },
  {
    name: 'a lost create found, appointment moved since → reschedule it',
    desired: booked(T2),
    bookings: [booking('u1')],
    calls: [{ kind: 'reschedule', uid: 'u1', start: T2 }],
  },
  {
    name: "the customer's booking (no metadata) known from the snapshot → moved, not a second booking (defect 1)",
    desired: booked(T2),
    bookings: [booking('c1', { appointmentId: null })],
    known: ['c1'],
    calls: [{ kind: 'reschedule', uid: 'c1', start: T2 }],
    observed: 'created c1 calcom',
  },
  {
    name: 'a lost reschedule without rescheduledToUid is found by rescheduledFromUid (defect 6)',
    desired: booked(T2),
    bookings: moved(booking('u1'), 'u2', T2, 'from-only'),
    inFlight: { kind: 'reschedule', version: 2, uid: 'u1', start: T2 },
    calls: [],
    observed: 'created u1 calsync, rescheduled u2 calsync',
  },
  {
    name: 'a lost reschedule, then the customer cancelled the new booking → no resurrection (defect 6)',
    desired: booked(T2),
    bookings: [
      { ...booking('u1'), status: 'cancelled' },
      booking('u2', { start: T2, rescheduledFromUid: 'u1', status: 'cancelled' }),
    ],
    inFlight: { kind: 'reschedule', version: 2, uid: 'u1', start: T2 },
    refused: 'cancelled_on_calcom',
  },
  {
    name: 'the customer cancelled our booking; a local move must not book it again',
    desired: booked(T2),
    bookings: [{ ...booking('u1'), status: 'cancelled' }],
    steps: [ours('created', 'u1')],
    refused: 'cancelled_on_calcom',
  },
  {
    name: 'we cancelled it ourselves for an earlier version; booked again → create',
    desired: booked(T2),
    bookings: [{ ...booking('u1'), status: 'cancelled' }],
    steps: [ours('created', 'u1'), ours('cancelled', 'u1', 'u1')],
    calls: [{ kind: 'create', start: T2 }],
  },
  {
    name: 'cancel while the customer moved it → the successor is cancelled (defect 6)',
    desired: cancelled,
    bookings: moved(booking('u1'), 'u2', T3),
    known: ['u1'],
    calls: [{ kind: 'cancel', uid: 'u2' }],
    observed: 'created u1 calsync, rescheduled u2 calcom',
  },
  {
    name: 'already cancelled, no successor → nothing',
    desired: cancelled,
    bookings: [{ ...booking('u1'), status: 'cancelled' }],
    inFlight: { kind: 'cancel', version: 3, uid: 'u1', start: null },
    calls: [],
    observed: 'created u1 calsync, cancelled u1 calsync',
  },
  {
    name: 'two active bookings (a duplicate) → keep the one at the start, cancel the other',
    desired: booked(T2),
    bookings: [booking('u1'), booking('u2', { start: T2 })],
    calls: [{ kind: 'cancel', uid: 'u1' }],
  },
  {
    name: 'two active, none at the start → move the preferred one, cancel the other',
    desired: booked(T3),
    bookings: [booking('u1'), booking('u2', { start: T2 })],
    preferred: 'u2',
    calls: [
      { kind: 'reschedule', uid: 'u2', start: T3 },
      { kind: 'cancel', uid: 'u1' },
    ],
  },
  {
    name: "another appointment's booking of the same attendee is not ours",
    desired: booked(T1),
    bookings: [booking('x1', { appointmentId: 'apt_other' })],
    calls: [{ kind: 'create', start: T1 }],
  },
  {
    name: 'a pending booking (needs confirmation) counts as active',
    desired: booked(T1),
    bookings: [booking('u1', { status: 'pending' })],
    calls: [],
  },
]

describe('planCalls (table)', () => {
  for (const row of rows) {
    it(row.name, () => {
      const family = familyOf(row.bookings, APT, row.known ?? [])
      const plan = planCalls(row.desired, family, row.steps ?? [], row.inFlight ?? null, row.preferred ?? null)
      if (row.refused) {
        expect(plan.kind).toBe(row.refused)
        return
      }
      expect(plan.kind).toBe('calls')
      if (plan.kind !== 'calls') return
      expect(plan.calls).toEqual(row.calls)
      if (row.observed) {
        expect(plan.observed.map(({ action, uid, by }) => `${action} ${uid} ${by}`).join(', ')).toBe(row.observed)
      }
    })
  }
})

/** Applies planned calls as Cal.com would, to check where a plan leaves the family. */
function apply(bookings: ObservedBooking[], calls: PlannedCall[]): ObservedBooking[] {
  let next = [...bookings]
  let counter = 0
  for (const call of calls) {
    if (call.kind === 'create') next.push(booking(`new${counter++}`, { start: call.start }))
    if (call.kind === 'cancel') next = next.map((b) => (b.uid === call.uid ? { ...b, status: 'cancelled' } : b))
    if (call.kind === 'reschedule') {
      const from = next.find((b) => b.uid === call.uid)
      if (!from) throw new Error('rescheduled an unknown booking')
      const to = `new${counter++}`
      next = [
        ...next.map((b) => (b.uid === call.uid ? { ...b, status: 'cancelled', rescheduledToUid: to } : b)),
        booking(to, { start: call.start, rescheduledFromUid: from.uid, appointmentId: from.appointmentId }),
      ]
    }
  }
  return next
}

type Op =
  | { kind: 'create'; meta: string | null; start: string }
  | { kind: 'reschedule'; pick: number; start: string }
  | { kind: 'cancel'; pick: number }

/** A Cal.com history built from operations, so links and statuses are as Cal.com leaves them. */
function history(ops: Op[], hideToUid: boolean): ObservedBooking[] {
  let list: ObservedBooking[] = []
  ops.forEach((op, index) => {
    const uid = `h${index}`
    const createdAt = `2030-01-01T00:00:${String(index).padStart(2, '0')}.000Z`
    if (op.kind === 'create') {
      list.push(booking(uid, { start: op.start, appointmentId: op.meta, createdAt }))
      return
    }
    const active = list.filter(isActive)
    const target = active[op.pick % Math.max(1, active.length)]
    if (!target) return
    const closed = (b: ObservedBooking) =>
      b.uid === target.uid
        ? { ...b, status: 'cancelled', ...(op.kind === 'reschedule' ? { rescheduledToUid: uid } : {}) }
        : b
    list = list.map(closed)
    if (op.kind === 'reschedule') {
      list.push(
        booking(uid, {
          start: op.start,
          rescheduledFromUid: target.uid,
          appointmentId: target.appointmentId,
          createdAt,
        }),
      )
    }
  })
  return hideToUid ? list.map((b) => ({ ...b, rescheduledToUid: null })) : list
}

describe('planCalls (randomized Cal.com histories)', () => {
  const runs = Number(process.env.CALSYNC_PROPERTY_RUNS ?? 200)
  const startArb = fc.constantFrom(T1, T2, T3)
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('create' as const), meta: fc.constantFrom(APT, null, 'apt_other'), start: startArb }),
    fc.record({ kind: fc.constant('reschedule' as const), pick: fc.nat(4), start: startArb }),
    fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat(4) }),
  )

  it('leaves exactly one active booking at the start for booked, none for cancelled, or refuses to resurrect', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 7 }),
        fc.boolean(),
        fc.constantFrom<Desired>(booked(T1), booked(T2), cancelled),
        fc.boolean(),
        (ops, hideToUid, desired, knowFirst) => {
          const bookings = history(ops, hideToUid)
          const known = knowFirst && bookings[0] ? [bookings[0].uid] : []
          const family = familyOf(bookings, APT, known)
          const plan = planCalls(desired, family, [], null, known[0] ?? null)
          if (plan.kind === 'cancelled_on_calcom') {
            // Only when nothing is active and Cal.com's side cancelled something.
            expect(desired.status).toBe('booked')
            expect(family.filter(isActive)).toHaveLength(0)
            expect(family.length).toBeGreaterThan(0)
            return
          }
          const after = familyOf(apply(family, plan.calls), APT, known)
          const active = after.filter(isActive)
          if (desired.status === 'cancelled') expect(active).toHaveLength(0)
          else {
            expect(active).toHaveLength(1)
            expect(Date.parse(active[0]?.start ?? '')).toBe(Date.parse(desired.start))
          }
          // Never a create while something of the appointment is active on Cal.com.
          const creates = plan.calls.filter((call) => call.kind === 'create')
          expect(creates.length).toBeLessThanOrEqual(1)
          if (creates.length > 0) expect(family.filter(isActive)).toHaveLength(0)
          // Nothing of another appointment is ever touched.
          const foreign = new Set(bookings.filter((b) => b.appointmentId === 'apt_other').map((b) => b.uid))
          for (const call of plan.calls) if (call.kind !== 'create') expect(foreign.has(call.uid)).toBe(false)
        },
      ),
      { numRuns: runs },
    )
  })
})
