// Inputs of the webhook decision table's cases: an appointment, its chain, a webhook.
import type { AppointmentSnapshot } from '@calsync/contracts'
import type { Target, WebhookFacts } from '../../src/calcom/webhook-decision.ts'
import type { ChainLink } from '../../src/sync/booking-chain.ts'

export const T1 = '2031-03-03T09:00:00.000Z'
export const T1_END = '2031-03-03T09:30:00.000Z'
export const T2 = '2031-03-03T11:00:00.000Z'
export const T2_END = '2031-03-03T11:30:00.000Z'
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

export function webhook(trigger: WebhookFacts['trigger'], overrides: Partial<WebhookFacts> = {}): WebhookFacts {
  return {
    trigger,
    awaiting: null,
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

export const link = (
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

export function target(
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
