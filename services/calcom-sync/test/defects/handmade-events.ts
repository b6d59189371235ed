// Appointment events the defect tests write and publish themselves, to control their order and timing.
import { randomBytes } from 'node:crypto'
import { type AppointmentEvent, appointmentEventToken } from '@calsync/contracts'
import { publishMessage } from '@calsync/service-kit'
import type { Stack } from '../../../../test/support/stack.ts'
import { EVENT_TYPE_MINUTES } from '../../../../test/support/tenants.ts'

const ACME = 'acme-dental'
const attendee = { name: 'Noor Haddad', email: 'noor@example.org', timeZone: 'UTC' }

/** Publishes an appointment event as the outbox relay does (a fresh Nats-Msg-Id unless given). */
export async function publishEvent(
  s: Stack,
  event: AppointmentEvent,
  msgId = `${event.eventId}:${randomBytes(3).toString('hex')}`,
) {
  await publishMessage(
    s.appointments.js,
    s.names.subjects.appointmentEvent(event.tenantId, appointmentEventToken(event.type)),
    event,
    { msgId, tenantId: event.tenantId },
  )
}

/** An appointment of acme's dr-jones (event type 1001) the tests write the versions of themselves. */
export function handmadeAppointment(id = `appt_${randomBytes(6).toString('hex')}`) {
  const createdAt = new Date().toISOString()
  return {
    id,
    version(
      version: number,
      change: {
        type: AppointmentEvent['type']
        start: string
        status?: 'booked' | 'cancelled'
        origin?: AppointmentEvent['origin']
        calcomBookingUid?: string | null
        notes?: string
      },
    ): AppointmentEvent {
      const origin = change.origin ?? 'admin'
      const at = new Date().toISOString()
      const end = new Date(Date.parse(change.start) + (EVENT_TYPE_MINUTES[1001] ?? 30) * 60_000).toISOString()
      return {
        type: change.type,
        eventId: `${id}:v${version}`,
        tenantId: ACME,
        appointmentId: id,
        version,
        origin,
        occurredAt: at,
        appointment: {
          id,
          tenantId: ACME,
          eventTypeId: 1001,
          resource: 'dr-jones',
          start: change.start,
          end,
          status: change.status ?? 'booked',
          origin,
          version,
          attendee,
          ...(change.notes === undefined ? {} : { notes: change.notes }),
          calcomBookingUid: change.calcomBookingUid ?? null,
          createdAt,
          updatedAt: at,
        },
      } as AppointmentEvent
    },
  }
}
