// Every row of the webhook decision table (services/appointments/README.md), one case each.
import { describe, expect, it } from 'vitest'
import { changeOf, type Decision, decideWebhook } from '../../src/calcom/webhook-decision.ts'
import { withFacts } from '../../src/sync/booking-chain.ts'
import { link, T1, T1_END, T2, T2_END, target, webhook } from './decision-fixtures.ts'
import { rows } from './decision-rows.ts'

const kind = (decision: Decision) =>
  decision.kind === 'defer'
    ? `defer:${decision.reason}`
    : decision.kind === 'review'
      ? `review:${decision.code}`
      : decision.kind === 'create' && decision.status === 'cancelled'
        ? 'create:cancelled'
        : decision.kind

describe('the webhook decision table', () => {
  it.each(rows)('row $row: $name → $expected', ({ webhook: facts, target: known, lastChance, waitedOut, expected }) => {
    const options = { lastChance: lastChance ?? false, waitedOut: waitedOut ?? false }
    expect(kind(decideWebhook(facts, known, options))).toBe(expected)
  })

  it('covers every row of the table', () => {
    expect(new Set(rows.map((row) => row.row))).toEqual(new Set(Array.from({ length: 33 }, (_, i) => i + 1)))
  })

  it('says what each applied change adds to the chain', () => {
    const move = decideWebhook(webhook('BOOKING_RESCHEDULED'), target({ via: 'previous-uid' }), { lastChance: false })
    expect(move).toEqual({
      kind: 'reschedule',
      facts: [{ kind: 'moved', from: 'u1', uid: 'u2', by: 'calcom', version: 3, start: T2 }],
    })
    const cancel = decideWebhook(webhook('BOOKING_CANCELLED', { uid: 'u1' }), target(), { lastChance: false })
    expect(cancel).toEqual({ kind: 'cancel', facts: [{ kind: 'cancelled', uid: 'u1', by: 'calcom', version: 3 }] })
    const lost = decideWebhook(
      webhook('BOOKING_CREATED', { start: T1, end: T1_END, metadataAppointmentId: 'apt_a' }),
      target({ via: 'metadata', chain: [] }),
      { lastChance: false },
    )
    expect(lost).toEqual({ kind: 'echo', facts: [{ kind: 'booked', uid: 'u2', by: 'calsync', version: 2, start: T1 }] })
    // The booking it replaced joins the chain, so that booking's late CREATED is a duplicate, not a ghost.
    const unseen = decideWebhook(webhook('BOOKING_RESCHEDULED'), undefined, { lastChance: false, waitedOut: true })
    expect(unseen).toEqual({
      kind: 'create',
      facts: [
        { kind: 'booked', uid: 'u1', by: 'calcom', version: 1 },
        { kind: 'moved', from: 'u1', uid: 'u2', by: 'calcom', version: 1, start: T2 },
      ],
    })
    if (unseen.kind !== 'create') return
    const chain = withFacts([], unseen.facts)
    const applied = {
      via: 'uid' as const,
      chain,
      appointment: { version: 1, start: T2, end: T2_END, calcomBookingUid: 'u2' },
    }
    const late = webhook('BOOKING_CREATED', { uid: 'u1', rescheduleUid: null, start: T1, end: T1_END })
    expect(kind(decideWebhook(late, target(applied), { lastChance: false }))).toBe('duplicate')
    expect(kind(decideWebhook(webhook('BOOKING_RESCHEDULED'), target(applied), { lastChance: false }))).toBe(
      'duplicate',
    )
    const next = webhook('BOOKING_RESCHEDULED', { uid: 'u3', rescheduleUid: 'u2', start: T1, end: T1_END })
    expect(kind(decideWebhook(next, target({ ...applied, via: 'previous-uid' }), { lastChance: false }))).toBe(
      'reschedule',
    )
    const cancel2 = webhook('BOOKING_CANCELLED', { uid: 'u2' })
    expect(kind(decideWebhook(cancel2, target(applied), { lastChance: false }))).toBe('cancel')
  })

  it('moves the appointment the metadata names through the unseen booking: the lost move is then a duplicate', () => {
    const second = webhook('BOOKING_RESCHEDULED', { uid: 'u3', rescheduleUid: 'u9', metadataAppointmentId: 'apt_a' })
    const moved = decideWebhook(second, target({ via: 'metadata' }), { lastChance: false, waitedOut: true })
    expect(moved).toEqual({
      kind: 'reschedule',
      facts: [
        { kind: 'moved', from: 'u1', uid: 'u9', by: 'calcom', version: 3 },
        { kind: 'moved', from: 'u9', uid: 'u3', by: 'calcom', version: 3, start: T2 },
      ],
    })
    if (moved.kind !== 'reschedule') return
    const applied = {
      via: 'uid' as const,
      chain: withFacts([link('u1', null, 'calsync', 1)], moved.facts),
      appointment: { version: 3, start: T2, end: T2_END, calcomBookingUid: 'u3' },
    }
    const first = webhook('BOOKING_RESCHEDULED', { uid: 'u9', rescheduleUid: 'u1', start: T1, end: T1_END })
    expect(kind(decideWebhook(first, target(applied), { lastChance: false }))).toBe('duplicate')
    expect(kind(decideWebhook(second, target(applied), { lastChance: false }))).toBe('duplicate')
    const cancelOfSkipped = webhook('BOOKING_CANCELLED', { uid: 'u9' })
    expect(kind(decideWebhook(cancelOfSkipped, target(applied), { lastChance: false }))).toBe('stale')
    const cancel = webhook('BOOKING_CANCELLED', { uid: 'u3' })
    expect(kind(decideWebhook(cancel, target(applied), { lastChance: false }))).toBe('cancel')
  })

  it('records a cancel of a booking never seen as that booking, cancelled: its late CREATED is a duplicate', () => {
    const cancel = webhook('BOOKING_CANCELLED', { uid: 'u9' })
    const recorded = decideWebhook(cancel, undefined, { lastChance: false, waitedOut: true })
    expect(recorded).toEqual({
      kind: 'create',
      status: 'cancelled',
      facts: [
        { kind: 'booked', uid: 'u9', by: 'calcom', version: 1, start: T2 },
        { kind: 'cancelled', uid: 'u9', by: 'calcom', version: 1 },
      ],
    })
    if (recorded.kind !== 'create') return
    const applied = {
      via: 'uid' as const,
      chain: withFacts([], recorded.facts),
      appointment: { version: 1, status: 'cancelled' as const, start: T2, end: T2_END, calcomBookingUid: 'u9' },
    }
    const late = webhook('BOOKING_CREATED', { uid: 'u9' })
    expect(kind(decideWebhook(late, target(applied), { lastChance: false }))).toBe('duplicate')
    expect(kind(decideWebhook(cancel, target(applied), { lastChance: false }))).toBe('duplicate')
    const moved = webhook('BOOKING_RESCHEDULED', { uid: 'u10', rescheduleUid: 'u9' })
    expect(kind(decideWebhook(moved, target({ ...applied, via: 'previous-uid' }), { lastChance: false }))).toBe(
      'review:conflicting_state',
    )
  })
})

describe('what a trigger does to its booking', () => {
  it.each([
    ['BOOKING_CREATED', null, 'BOOKING_CREATED'],
    ['BOOKING_REQUESTED', null, 'BOOKING_CREATED'],
    ['BOOKING_REQUESTED', 'u1', 'BOOKING_RESCHEDULED'],
    ['BOOKING_RESCHEDULED', 'u1', 'BOOKING_RESCHEDULED'],
    ['BOOKING_REJECTED', null, 'BOOKING_CANCELLED'],
    ['BOOKING_CANCELLED', null, 'BOOKING_CANCELLED'],
  ] as const)('%s (rescheduleUid %s) → %s', (trigger, rescheduleUid, change) => {
    expect(changeOf(trigger, rescheduleUid)).toBe(change)
  })
})
