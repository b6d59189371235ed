// Every row of the webhook decision table (services/appointments/README.md), one case each.
import { describe, expect, it } from 'vitest'
import { changeOf, type Decision, decideWebhook } from '../../src/calcom/webhook-decision.ts'
import { T1, T1_END, T2, target, webhook } from './decision-fixtures.ts'
import { rows } from './decision-rows.ts'

const kind = (decision: Decision) =>
  decision.kind === 'defer'
    ? `defer:${decision.reason}`
    : decision.kind === 'review'
      ? `review:${decision.code}`
      : decision.kind

describe('the webhook decision table', () => {
  it.each(rows)('row $row: $name → $expected', ({ webhook: facts, target: known, lastChance, expected }) => {
    expect(kind(decideWebhook(facts, known, { lastChance: lastChance ?? false }))).toBe(expected)
  })

  it('covers every row of the table', () => {
    expect(new Set(rows.map((row) => row.row))).toEqual(new Set(Array.from({ length: 30 }, (_, i) => i + 1)))
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
