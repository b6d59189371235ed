import type { AppointmentSnapshot } from './appointment.ts'
import type { SyncStateDoc } from './appointments-store.ts'

/** Before its sync state is written: what it will say (a change from Cal.com needs no sync, I5). */
const defaultStatus = (snapshot: AppointmentSnapshot) => (snapshot.origin === 'calcom' ? 'synced' : 'pending')

/** The appointment JSON of the API (DESIGN §4.4): the snapshot plus where its sync stands. */
export function toAppointmentView(snapshot: AppointmentSnapshot, sync: SyncStateDoc | undefined) {
  return {
    id: snapshot.id,
    tenantId: snapshot.tenantId,
    eventTypeId: snapshot.eventTypeId,
    resource: snapshot.resource,
    start: snapshot.start,
    end: snapshot.end,
    status: snapshot.status,
    origin: snapshot.origin,
    version: snapshot.version,
    attendee: snapshot.attendee,
    notes: snapshot.notes ?? null,
    calcomBookingUid: sync?.calcomBookingUid ?? snapshot.calcomBookingUid,
    sync: {
      status: sync?.status ?? defaultStatus(snapshot),
      attempts: sync?.attempts ?? 0,
      lastAttemptAt: sync?.lastAttemptAt ?? null,
      errorCode: sync?.errorCode ?? null,
      errorMessage: sync?.errorMessage ?? null,
      verifiedAt: sync?.verifiedAt ?? null,
      requiresManualReview: sync?.requiresManualReview ?? false,
    },
    createdAt: snapshot.createdAt,
    updatedAt: snapshot.updatedAt,
  }
}

export function toSyncStatusView(snapshot: AppointmentSnapshot, sync: SyncStateDoc | undefined) {
  return {
    status: sync?.status ?? defaultStatus(snapshot),
    origin: snapshot.origin,
    attempts: sync?.attempts ?? 0,
    lastAttemptAt: sync?.lastAttemptAt ?? null,
    errorCode: sync?.errorCode ?? null,
    errorMessage: sync?.errorMessage ?? null,
    verifiedAt: sync?.verifiedAt ?? null,
    requiresManualReview: sync?.requiresManualReview ?? false,
    flaggedAt: sync?.flaggedAt ?? null,
    calcomBookingUid: sync?.calcomBookingUid ?? snapshot.calcomBookingUid,
    version: snapshot.version,
    syncedVersion: sync?.version ?? null,
    eventId: sync?.eventId ?? null,
  }
}
