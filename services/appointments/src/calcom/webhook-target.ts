import {
  Attendee,
  CALSYNC_METADATA,
  type CalcomBookingWebhook,
  calsyncAppointmentIdOf,
  createSchemaCheck,
} from '@calsync/contracts'
import { parseInstant, type TenantRegistry } from '@calsync/service-kit'
import { appointmentIdForBooking } from '../appointments/appointment.ts'
import { type AppointmentsStore, snapshotOfDoc } from '../appointments/appointments-store.ts'
import { changeOf, type Target, type Via, type WebhookFacts } from './webhook-decision.ts'

const checkAttendee = createSchemaCheck(Attendee)

/** The facts of a webhook the decision needs, read once from its payload. */
export function webhookFacts(tenantId: string, webhook: CalcomBookingWebhook, tenants: TenantRegistry): WebhookFacts {
  const { payload } = webhook
  const iso = (text: string) => parseInstant(text)?.toISOString() ?? text
  const metadata = payload.metadata ?? undefined
  // Metadata naming another tenant is not ours whatever it says.
  const ownTenant =
    metadata?.[CALSYNC_METADATA.tenantId] === undefined || metadata[CALSYNC_METADATA.tenantId] === tenantId
  const rescheduleUid = payload.rescheduleUid ?? null
  return {
    trigger: changeOf(webhook.triggerEvent, rescheduleUid),
    awaiting:
      webhook.triggerEvent === 'BOOKING_REQUESTED'
        ? 'confirmation'
        : webhook.triggerEvent === 'BOOKING_CANCELLED' && payload.requestReschedule === true
          ? 'new_time'
          : null,
    uid: payload.uid,
    rescheduleUid,
    start: iso(payload.startTime),
    end: iso(payload.endTime),
    eventTypeId: payload.eventTypeId,
    eventType: tenants.get(tenantId)?.calcom.eventTypes.find((eventType) => eventType.id === payload.eventTypeId),
    metadataAppointmentId: ownTenant ? calsyncAppointmentIdOf(metadata) : undefined,
    attendeeEmail: payload.attendees[0]?.email,
  }
}

/**
 * The attendee as the appointment snapshot can hold it: Cal.com does not validate what bookers
 * type, and a snapshot that fails its schema would stop every later change from reaching Cal.com.
 */
export function normalisedAttendee(webhook: CalcomBookingWebhook): Attendee {
  const raw = webhook.payload.attendees[0]
  const name = raw?.name?.trim().slice(0, 200) || 'Unknown attendee'
  const timeZone = raw?.timeZone?.trim().slice(0, 64) || 'UTC'
  const phone = raw?.phoneNumber?.trim().slice(0, 32)
  const candidate = { name, email: raw?.email?.trim() ?? '', timeZone, ...(phone ? { phoneNumber: phone } : {}) }
  return checkAttendee.check(candidate).ok ? candidate : { ...candidate, email: 'unknown@invalid' }
}

export function normalisedNotes(webhook: CalcomBookingWebhook): string | undefined {
  return webhook.payload.additionalNotes?.slice(0, 2000) || undefined
}

/** Which appointment a webhook is about: the id to lock, and how it was found. */
export interface Resolution {
  appointmentId: string
  via: Via | 'new'
}

export function createTargets(store: AppointmentsStore) {
  return {
    /** By what calsync knows of the uids first; the metadata only when they are unknown. */
    async resolve(tenantId: string, facts: WebhookFacts, options: { useMetadata: boolean }): Promise<Resolution> {
      const byUid = await store.linkedAppointmentId(tenantId, facts.uid)
      if (byUid) return { appointmentId: byUid, via: 'uid' }
      if (facts.trigger === 'BOOKING_RESCHEDULED' && facts.rescheduleUid) {
        const byPrevious = await store.linkedAppointmentId(tenantId, facts.rescheduleUid)
        if (byPrevious) return { appointmentId: byPrevious, via: 'previous-uid' }
      }
      const ownId = appointmentIdForBooking(tenantId, facts.uid)
      // `current`, not the projection: a change committed a moment ago (its writer still finishing,
      // under its lock) exists already, and its echo can arrive that fast.
      if (facts.trigger === 'BOOKING_CREATED' && (await store.current(tenantId, ownId))) {
        return { appointmentId: ownId, via: 'booking-id' }
      }
      if (
        options.useMetadata &&
        facts.metadataAppointmentId &&
        (await store.current(tenantId, facts.metadataAppointmentId))
      ) {
        return { appointmentId: facts.metadataAppointmentId, via: 'metadata' }
      }
      return { appointmentId: ownId, via: 'new' }
    },

    /** What the decision needs of the appointment, read under its lock. */
    async load(tenantId: string, resolution: Resolution): Promise<Target | undefined> {
      if (resolution.via === 'new') return undefined
      const doc = await store.find(tenantId, resolution.appointmentId)
      if (!doc) return undefined
      const sync = await store.syncDoc(doc._id)
      return {
        appointment: snapshotOfDoc(doc),
        chain: sync?.chain ?? [],
        awaiting: Boolean(sync?.awaiting),
        via: resolution.via,
      }
    },
  }
}

export type Targets = ReturnType<typeof createTargets>
