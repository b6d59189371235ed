// Every row of the webhook decision table (services/appointments/README.md), one case each.
import type { AppointmentSnapshot } from '@calsync/contracts'
import { describe, expect, it } from 'vitest'
import { type Decision, decideWebhook, type Target, type WebhookFacts } from '../../src/calcom/webhook-decision.ts'
import type { ChainLink } from '../../src/sync/booking-chain.ts'

const T1 = '2031-03-03T09:00:00.000Z'
const T1_END = '2031-03-03T09:30:00.000Z'
const T2 = '2031-03-03T11:00:00.000Z'
const T2_END = '2031-03-03T11:30:00.000Z'
const eventType = { id: 1001, resource: 'dr-jones', lengthMinutes: 30 }

const appointment: AppointmentSnapshot = {
  id: 'apt_a',
  tenantId: 'acme-dental',
  eventTypeId: 1001,
  resource: 'dr-jones',
  start: T1,
  end: T1_END,
  status: 'booked',
  origin: 'admin',
  version: 2,
  attendee: { name: 'Dana', email: 'dana@example.org', timeZone: 'UTC' },
  calcomBookingUid: 'u1',
  createdAt: T1,
  updatedAt: T1,
}

function webhook(trigger: WebhookFacts['trigger'], overrides: Partial<WebhookFacts> = {}): WebhookFacts {
  return {
    trigger,
    uid: 'u2',
    rescheduleUid: trigger === 'BOOKING_RESCHEDULED' ? 'u1' : null,
    start: T2,
    end: T2_END,
    eventTypeId: 1001,
    eventType,
    metadataAppointmentId: undefined,
    attendeeEmail: 'dana@example.org',
    ...overrides,
  }
}

const link = (
  uid: string,
  from: string | null,
  by: ChainLink['by'],
  version: number,
  extra: Partial<ChainLink> = {},
) => ({
  uid,
  from,
  by,
  version,
  ...extra,
})

function target(
  overrides: Partial<Omit<Target, 'appointment'>> & { appointment?: Partial<AppointmentSnapshot> } = {},
): Target {
  return {
    via: 'uid',
    awaiting: false,
    chain: [link('u1', null, 'calsync', 1)],
    ...overrides,
    appointment: { ...appointment, ...overrides.appointment },
  }
}

const kind = (decision: Decision) =>
  decision.kind === 'defer'
    ? `defer:${decision.reason}`
    : decision.kind === 'review'
      ? `review:${decision.code}`
      : decision.kind

interface Row {
  row: number
  name: string
  webhook: WebhookFacts
  target: Target | undefined
  lastChance?: boolean
  expected: string
}

const rows: Row[] = [
  {
    row: 1,
    name: 'event type not configured',
    webhook: webhook('BOOKING_CREATED', { eventType: undefined }),
    target: undefined,
    expected: 'review:unknown_event_type',
  },
  {
    row: 2,
    name: 'end not after start',
    webhook: webhook('BOOKING_CREATED', { end: T2 }),
    target: undefined,
    expected: 'review:invalid_interval',
  },
  {
    row: 2,
    name: 'lasting over a day',
    webhook: webhook('BOOKING_RESCHEDULED', { end: '2031-03-05T11:00:00.000Z' }),
    target: target({ via: 'previous-uid' }),
    expected: 'review:invalid_interval',
  },
  {
    row: 3,
    name: 'length other than the event type',
    webhook: webhook('BOOKING_CREATED', { end: '2031-03-03T11:45:00.000Z' }),
    target: undefined,
    expected: 'review:invalid_interval',
  },
  {
    row: 4,
    name: 'unknown booking, no appointment named',
    webhook: webhook('BOOKING_CREATED'),
    target: undefined,
    expected: 'create',
  },
  {
    row: 5,
    name: 'booking calsync made',
    webhook: webhook('BOOKING_CREATED', { uid: 'u1' }),
    target: target(),
    expected: 'echo',
  },
  {
    row: 6,
    name: 'booking the customer made, known',
    webhook: webhook('BOOKING_CREATED', { uid: 'u1' }),
    target: target({ chain: [link('u1', null, 'calcom', 1)] }),
    expected: 'duplicate',
  },
  {
    row: 6,
    name: "the booking's own appointment exists",
    webhook: webhook('BOOKING_CREATED', { uid: 'u9' }),
    target: target({ via: 'booking-id', chain: [] }),
    expected: 'duplicate',
  },
  {
    row: 7,
    name: 'uid linked, chain lacks it',
    webhook: webhook('BOOKING_CREATED', { uid: 'u9' }),
    target: target(),
    expected: 'defer:chain_gap',
  },
  {
    row: 8,
    name: 'metadata names an appointment waiting for calsync',
    webhook: webhook('BOOKING_CREATED', { metadataAppointmentId: 'apt_a' }),
    target: target({ via: 'metadata', awaiting: true, chain: [] }),
    expected: 'defer:awaiting_sync',
  },
  {
    row: 9,
    name: 'metadata names an appointment waiting for exactly this booking (answer lost)',
    webhook: webhook('BOOKING_CREATED', { start: T1, end: T1_END, metadataAppointmentId: 'apt_a' }),
    target: target({ via: 'metadata', chain: [] }),
    expected: 'echo',
  },
  {
    row: 10,
    name: 'metadata names an appointment at another time',
    webhook: webhook('BOOKING_CREATED', { metadataAppointmentId: 'apt_a' }),
    target: target({ via: 'metadata', chain: [] }),
    expected: 'create',
  },
  {
    row: 10,
    name: 'metadata names an appointment that has its booking',
    webhook: webhook('BOOKING_CREATED', { start: T1, end: T1_END, metadataAppointmentId: 'apt_a' }),
    target: target({ via: 'metadata' }),
    expected: 'create',
  },
  {
    row: 10,
    name: 'metadata names an appointment of another attendee',
    webhook: webhook('BOOKING_CREATED', {
      start: T1,
      end: T1_END,
      metadataAppointmentId: 'apt_a',
      attendeeEmail: 'x@example.org',
    }),
    target: target({ via: 'metadata', chain: [] }),
    expected: 'create',
  },
  {
    row: 11,
    name: 'neither uid known',
    webhook: webhook('BOOKING_RESCHEDULED'),
    target: undefined,
    expected: 'defer:unknown_booking',
  },
  {
    row: 11,
    name: 'only the metadata known, appointment waiting',
    webhook: webhook('BOOKING_RESCHEDULED'),
    target: target({ via: 'metadata', awaiting: true }),
    expected: 'defer:awaiting_sync',
  },
  {
    row: 12,
    name: 'hop calsync made',
    webhook: webhook('BOOKING_RESCHEDULED'),
    target: target({ chain: [link('u1', null, 'calsync', 1), link('u2', 'u1', 'calsync', 2)] }),
    expected: 'echo',
  },
  {
    row: 12,
    name: 'hop calsync made, a newer change in flight',
    webhook: webhook('BOOKING_RESCHEDULED'),
    target: target({ awaiting: true, chain: [link('u1', null, 'calsync', 1), link('u2', 'u1', 'calsync', 2)] }),
    expected: 'echo',
  },
  {
    row: 13,
    name: 'hop the customer made, applied',
    webhook: webhook('BOOKING_RESCHEDULED'),
    target: target({ chain: [link('u1', null, 'calsync', 1), link('u2', 'u1', 'calcom', 2)] }),
    expected: 'duplicate',
  },
  {
    row: 14,
    name: 'appointment waiting for calsync',
    webhook: webhook('BOOKING_RESCHEDULED'),
    target: target({ via: 'previous-uid', awaiting: true }),
    expected: 'defer:awaiting_sync',
  },
  {
    row: 15,
    name: 'previous uid linked, not in the chain',
    webhook: webhook('BOOKING_RESCHEDULED', { rescheduleUid: 'u7' }),
    target: target({ via: 'previous-uid' }),
    expected: 'defer:unknown_booking',
  },
  {
    row: 16,
    name: 'previous uid already moved elsewhere',
    webhook: webhook('BOOKING_RESCHEDULED'),
    target: target({ via: 'previous-uid', chain: [link('u1', null, 'calsync', 1), link('u3', 'u1', 'calsync', 2)] }),
    expected: 'stale',
  },
  {
    row: 17,
    name: 'chain with two open ends',
    webhook: webhook('BOOKING_RESCHEDULED', { uid: 'u5', rescheduleUid: 'u4' }),
    target: target({
      via: 'previous-uid',
      chain: [link('u1', null, 'calsync', 1), link('u3', 'u2', 'calsync', 3), link('u4', null, 'calcom', 1)],
    }),
    expected: 'defer:chain_gap',
  },
  {
    row: 18,
    name: 'previous uid known as cancelled',
    webhook: webhook('BOOKING_RESCHEDULED'),
    target: target({
      via: 'previous-uid',
      chain: [link('u1', null, 'calsync', 1, { cancelled: { by: 'calsync', version: 2 } })],
    }),
    expected: 'review:conflicting_state',
  },
  {
    row: 19,
    name: "customer's move of the current booking",
    webhook: webhook('BOOKING_RESCHEDULED'),
    target: target({ via: 'previous-uid' }),
    expected: 'reschedule',
  },
  {
    row: 19,
    name: "customer's move back to a time the appointment had before",
    webhook: webhook('BOOKING_RESCHEDULED', { uid: 'u3', rescheduleUid: 'u2', start: T1, end: T1_END }),
    target: target({
      via: 'previous-uid',
      appointment: { start: T2, end: T2_END },
      chain: [link('u1', null, 'calsync', 1), link('u2', 'u1', 'calcom', 2)],
    }),
    expected: 'reschedule',
  },
  {
    row: 20,
    name: 'cancel of an unknown booking',
    webhook: webhook('BOOKING_CANCELLED', { uid: 'u9' }),
    target: undefined,
    expected: 'defer:unknown_booking',
  },
  {
    row: 21,
    name: 'cancel calsync made',
    webhook: webhook('BOOKING_CANCELLED', { uid: 'u1' }),
    target: target({ chain: [link('u1', null, 'calsync', 1, { cancelled: { by: 'calsync', version: 2 } })] }),
    expected: 'echo',
  },
  {
    row: 22,
    name: 'cancel the customer made, applied',
    webhook: webhook('BOOKING_CANCELLED', { uid: 'u1' }),
    target: target({ chain: [link('u1', null, 'calsync', 1, { cancelled: { by: 'calcom', version: 2 } })] }),
    expected: 'duplicate',
  },
  {
    row: 23,
    name: 'cancel while calsync is changing the appointment',
    webhook: webhook('BOOKING_CANCELLED', { uid: 'u1' }),
    target: target({ awaiting: true }),
    expected: 'defer:awaiting_sync',
  },
  {
    row: 24,
    name: 'cancel of a linked uid the chain lacks',
    webhook: webhook('BOOKING_CANCELLED', { uid: 'u9' }),
    target: target(),
    expected: 'defer:chain_gap',
  },
  {
    row: 25,
    name: 'cancel of a booking already moved on',
    webhook: webhook('BOOKING_CANCELLED', { uid: 'u1' }),
    target: target({ chain: [link('u1', null, 'calsync', 1), link('u2', 'u1', 'calsync', 2)] }),
    expected: 'stale',
  },
  {
    row: 26,
    name: 'cancel while the chain has two open ends',
    webhook: webhook('BOOKING_CANCELLED', { uid: 'u3' }),
    target: target({ chain: [link('u1', null, 'calsync', 1), link('u3', 'u2', 'calsync', 3)] }),
    expected: 'defer:chain_gap',
  },
  {
    row: 27,
    name: 'cancel of an appointment already cancelled here',
    webhook: webhook('BOOKING_CANCELLED', { uid: 'u1' }),
    target: target({ appointment: { status: 'cancelled' } }),
    expected: 'duplicate',
  },
  {
    row: 28,
    name: "customer's cancel of the current booking",
    webhook: webhook('BOOKING_CANCELLED', { uid: 'u1' }),
    target: target(),
    expected: 'cancel',
  },
  {
    row: 29,
    name: 'waiting at the last delivery',
    webhook: webhook('BOOKING_CANCELLED', { uid: 'u9' }),
    target: undefined,
    lastChance: true,
    expected: 'review:unknown_booking',
  },
  {
    row: 29,
    name: 'waiting for calsync at the last delivery',
    webhook: webhook('BOOKING_RESCHEDULED'),
    target: target({ via: 'previous-uid', awaiting: true }),
    lastChance: true,
    expected: 'review:awaiting_sync',
  },
]

describe('the webhook decision table', () => {
  it.each(rows)('row $row: $name → $expected', ({ webhook: facts, target: known, lastChance, expected }) => {
    expect(kind(decideWebhook(facts, known, { lastChance: lastChance ?? false }))).toBe(expected)
  })

  it('covers every row of the table', () => {
    expect(new Set(rows.map((row) => row.row))).toEqual(new Set(Array.from({ length: 29 }, (_, i) => i + 1)))
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
