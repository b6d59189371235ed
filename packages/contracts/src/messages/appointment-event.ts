import Type from 'typebox'
import { Origin } from '../origin.ts'

const IsoTime = Type.String({ format: 'date-time' })

export const Attendee = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  email: Type.String({ format: 'email', maxLength: 320 }),
  timeZone: Type.String({ minLength: 1, maxLength: 64 }),
  phoneNumber: Type.Optional(Type.String({ maxLength: 32 })),
})
export type Attendee = Type.Static<typeof Attendee>

export const APPOINTMENT_STATUSES = ['booked', 'cancelled'] as const
export const AppointmentStatus = Type.Enum(APPOINTMENT_STATUSES)
export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number]

/** The full state of an appointment at one version: what the sync worker reconciles Cal.com to. */
export const AppointmentSnapshot = Type.Object({
  id: Type.String({ minLength: 1 }),
  tenantId: Type.String({ minLength: 1 }),
  eventTypeId: Type.Integer(),
  resource: Type.String({ minLength: 1 }),
  start: IsoTime,
  end: IsoTime,
  status: AppointmentStatus,
  origin: Origin,
  version: Type.Integer({ minimum: 1 }),
  attendee: Attendee,
  notes: Type.Optional(Type.String({ maxLength: 2000 })),
  calcomBookingUid: Type.Union([Type.String(), Type.Null()]),
  /**
   * What Cal.com still waits for: `confirmation` — the booking is requested, not yet confirmed by
   * the host (it holds its slot all the same); `new_time` — cancelled because the host asked the
   * attendee to pick another time. Absent: nothing.
   */
  awaiting: Type.Optional(Type.Union([Type.Literal('confirmation'), Type.Literal('new_time')])),
  createdAt: IsoTime,
  updatedAt: IsoTime,
})
export type AppointmentSnapshot = Type.Static<typeof AppointmentSnapshot>

/**
 * `sync_requested` changes nothing: it re-drives the sync of the current version (an operator's
 * retry or a bulk re-sync), under a new event id so the worker counts fresh attempts.
 */
export const APPOINTMENT_EVENT_TYPES = [
  'appointment.booked',
  'appointment.cancelled',
  'appointment.rescheduled',
  'appointment.sync_requested',
] as const
export type AppointmentEventType = (typeof APPOINTMENT_EVENT_TYPES)[number]

const eventFields = {
  eventId: Type.String({ minLength: 1 }),
  tenantId: Type.String({ minLength: 1 }),
  appointmentId: Type.String({ minLength: 1 }),
  version: Type.Integer({ minimum: 1 }),
  origin: Origin,
  occurredAt: IsoTime,
  appointment: AppointmentSnapshot,
}

/**
 * Published on `appointment.<tenant>.<booked|cancelled|rescheduled>` with the event id as Nats-Msg-Id.
 * Version 1 is `booked`, except for a Cal.com booking calsync learnt of only by its cancel: that
 * one is born `cancelled` (origin `calcom`, nothing to push).
 */
export const AppointmentEvent = Type.Union([
  Type.Object({ type: Type.Literal('appointment.booked'), ...eventFields }),
  Type.Object({ type: Type.Literal('appointment.cancelled'), ...eventFields }),
  Type.Object({ type: Type.Literal('appointment.rescheduled'), ...eventFields }),
  Type.Object({
    type: Type.Literal('appointment.sync_requested'),
    ...eventFields,
    /**
     * Cal.com was seen not to hold this version (the reconciler found its booking gone or
     * elsewhere): calcom-sync must look, not answer from what it recorded.
     */
    verify: Type.Optional(Type.Boolean()),
  }),
])
export type AppointmentEvent = Type.Static<typeof AppointmentEvent>

/**
 * The re-drive number of an appointment event id (`…:v3:r2` → 2; 0 for a version's own event):
 * both the appointments service and calcom-sync order re-drives of one version by it.
 */
export function driveOf(eventId: string | undefined): number {
  const match = /:r(\d+)$/.exec(eventId ?? '')
  return match ? Number(match[1]) : 0
}

/** The subject token of an event type: `appointment.booked` → `booked`. */
export function appointmentEventToken(type: AppointmentEventType): string {
  return type.slice('appointment.'.length)
}

/** Where an appointment stands with Cal.com (DESIGN §4.4). */
export const SYNC_STATUSES = ['pending', 'synced', 'failed', 'skipped', 'conflict'] as const
export const SyncStatus = Type.Enum(SYNC_STATUSES)
export type SyncStatus = (typeof SYNC_STATUSES)[number]
