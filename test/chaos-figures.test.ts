// The rules behind `npm run chaos`'s figures, case by case: each figure counts what it should
// and nothing else, so a 0 printed by the chaos run means what it says.
import { describe, expect, it } from 'vitest'
import {
  chaosFigures,
  type FigureInput,
  OUTAGE_GRACE_MS,
  type SeenAppointment,
} from '../scripts/chaos/chaos-figures.ts'
import type { LoadLedger } from '../scripts/chaos/chaos-load.ts'

const T = '2027-01-04T09:00:00.000Z'
const T30 = '2027-01-04T09:30:00.000Z'
const T15 = '2027-01-04T09:15:00.000Z'
const T45 = '2027-01-04T09:45:00.000Z'

function appointment(id: string, fields: Partial<SeenAppointment> = {}): SeenAppointment {
  return {
    id,
    tenantId: 't1',
    resource: 'room',
    start: T,
    end: T30,
    status: 'booked',
    origin: 'admin',
    calcomBookingUid: `uid-${id}`,
    sync: { status: 'synced' },
    ...fields,
  }
}
const booking = (uid: string, appointmentId: string | undefined, fields: Record<string, unknown> = {}) => ({
  uid,
  tenantId: 't1',
  status: 'accepted',
  start: T,
  metadata: appointmentId ? { calsyncAppointmentId: appointmentId } : {},
  ...fields,
})
function ledger(local: LoadLedger['local'] = new Map(), customerCalls = new Map<string, number>()): LoadLedger {
  return { attempted: 1, accepted: 1, refused: 0, unanswered: 0, local, customerCalls, customerAccepted: 0 }
}
function input(fields: Partial<FigureInput>): FigureInput {
  return {
    ledger: ledger(),
    appointments: [],
    reviewItems: [],
    bookings: [],
    requests: [],
    answers: [],
    outages: [],
    crashes: 0,
    ...fields,
  }
}
const counts = (given: FigureInput) =>
  Object.fromEntries(Object.entries(chaosFigures(given).invariants).map(([name, figure]) => [name, figure.count]))
const zero = {
  lost: 0,
  duplicateCalcomBookings: 0,
  mismatches: 0,
  loops: 0,
  unsyncedNotInReview: 0,
  overlappingNotFlagged: 0,
  serverErrorsWhileUp: 0,
  crashes: 0,
}

describe('the chaos figures', () => {
  it('a synced appointment with its one booking, and a known customer booking: every figure 0', () => {
    const local = new Map([['a1', { id: 'a1', tenantId: 't1', status: 'booked' as const, start: T, uncertain: false }]])
    expect(
      counts(
        input({
          ledger: ledger(local),
          appointments: [
            appointment('a1'),
            appointment('c1', {
              origin: 'calcom',
              calcomBookingUid: 'cu1',
              start: T45,
              end: '2027-01-04T10:15:00.000Z',
              sync: { status: 'skipped' },
            }),
          ],
          bookings: [booking('uid-a1', 'a1'), booking('cu1', undefined, { start: T45 })],
        }),
      ),
    ).toEqual(zero)
  })

  it.each([
    ['status differs', { status: 'cancelled' as const, start: T }, 1],
    ['time differs', { status: 'booked' as const, start: T15 }, 1],
    ['as accepted', { status: 'booked' as const, start: T }, 0],
  ])('an accepted local change %s: lost %i', (_, expected, lost) => {
    const local = new Map([['a1', { id: 'a1', tenantId: 't1', uncertain: false, ...expected }]])
    const figures = counts(
      input({ ledger: ledger(local), appointments: [appointment('a1')], bookings: [booking('uid-a1', 'a1')] }),
    )
    expect(figures.lost).toBe(lost)
  })

  it('a change cut off and then refused is not counted either way; a missing appointment is lost', () => {
    const local = new Map([
      ['a1', { id: 'a1', tenantId: 't1', status: 'cancelled' as const, start: T, uncertain: true }],
      ['a2', { id: 'a2', tenantId: 't1', status: 'booked' as const, start: T, uncertain: false }],
    ])
    const figures = counts(
      input({ ledger: ledger(local), appointments: [appointment('a1')], bookings: [booking('uid-a1', 'a1')] }),
    )
    expect(figures.lost).toBe(1)
  })

  it('a customer booking calsync does not know is lost, unless it is in review', () => {
    expect(counts(input({ bookings: [booking('cu9', undefined)] })).lost).toBe(1)
    const reviewItems = [{ kind: 'sync_failed', status: 'open', appointmentIds: [], errorMessage: 'booking cu9' }]
    expect(counts(input({ bookings: [booking('cu9', undefined)], reviewItems })).lost).toBe(0)
  })

  it('two active bookings of one appointment are a duplicate; a synced one at another time a mismatch', () => {
    expect(
      counts(input({ appointments: [appointment('a1')], bookings: [booking('uid-a1', 'a1'), booking('x', 'a1')] })),
    ).toMatchObject({ duplicateCalcomBookings: 1, mismatches: 0 })
    expect(
      counts(input({ appointments: [appointment('a1')], bookings: [booking('uid-a1', 'a1', { start: T15 })] })),
    ).toMatchObject({ duplicateCalcomBookings: 0, mismatches: 1 })
    expect(
      counts(input({ appointments: [appointment('a1', { status: 'cancelled' })], bookings: [booking('uid-a1', 'a1')] }))
        .mismatches,
    ).toBe(1)
  })

  it('calsync writing to a customer booking, or creating one for a Cal.com change, is a loop', () => {
    const requests = [
      { method: 'POST', path: '/v2/bookings/cu1/cancel', body: {} },
      { method: 'POST', path: '/v2/bookings/cu1/cancel', body: {} },
    ]
    const bookings = [booking('cu1', undefined, { status: 'cancelled' })]
    // The customer made one of the two calls.
    expect(counts(input({ bookings, requests, ledger: ledger(new Map(), new Map([['cu1', 1]])) })).loops).toBe(1)
    expect(counts(input({ bookings, requests, ledger: ledger(new Map(), new Map([['cu1', 2]])) })).loops).toBe(0)
    const create = { method: 'POST', path: '/v2/bookings', body: { metadata: { calsyncAppointmentId: 'c1' } } }
    const appointments = [appointment('c1', { origin: 'calcom' })]
    expect(counts(input({ appointments, requests: [create], bookings: [booking('uid-c1', 'c1')] })).loops).toBe(1)
  })

  it('an unsynced appointment counts unless a review item names it', () => {
    const appointments = [
      appointment('a1', { sync: { status: 'failed' } }),
      appointment('a2', { start: T45, end: '2027-01-04T10:15:00.000Z', sync: { status: 'pending' } }),
    ]
    const bookings = [booking('uid-a1', 'a1'), booking('uid-a2', 'a2', { start: T45 })]
    expect(counts(input({ appointments, bookings })).unsyncedNotInReview).toBe(2)
    const reviewItems = [{ kind: 'sync_failed', status: 'open', appointmentIds: ['a1'] }]
    expect(counts(input({ appointments, bookings, reviewItems })).unsyncedNotInReview).toBe(1)
  })

  it('overlapping booked appointments of one resource count unless both are conflict and one item names both', () => {
    const both = [
      appointment('a1', { sync: { status: 'conflict' } }),
      appointment('a2', { start: T15, end: T45, sync: { status: 'conflict' } }),
    ]
    const item = { kind: 'double_booking', status: 'open', appointmentIds: ['a1', 'a2'] }
    expect(counts(input({ appointments: both, reviewItems: [item] })).overlappingNotFlagged).toBe(0)
    expect(counts(input({ appointments: both })).overlappingNotFlagged).toBe(1)
    const otherRoom = [appointment('a1'), appointment('a2', { start: T15, end: T45, resource: 'other' })]
    expect(
      counts(
        input({
          appointments: otherRoom,
          bookings: [booking('uid-a1', 'a1'), booking('uid-a2', 'a2', { start: T15 })],
        }),
      ).overlappingNotFlagged,
    ).toBe(0)
  })

  it('a 503 during an outage (and its grace) is expected; any other 5xx counts', () => {
    const outages = [{ what: 'nats' as const, from: 1000, to: 2000 }]
    const answers = [
      { service: 'appointments', status: 503, at: 1500 },
      { service: 'appointments', status: 503, at: 2000 + OUTAGE_GRACE_MS },
      { service: 'appointments', status: 500, at: 1500 },
      { service: 'appointments', status: 503, at: 2001 + OUTAGE_GRACE_MS },
      { service: 'appointments', status: 409, at: 5000 },
    ]
    expect(counts(input({ answers, outages })).serverErrorsWhileUp).toBe(2)
  })
})
