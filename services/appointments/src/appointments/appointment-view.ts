import type { AppointmentSnapshot } from './appointment.ts'
import type { SyncStateDoc } from './appointments-store.ts'

/** Before its sync state is written: what it will say (a change from Cal.com needs no sync, I5). */
const defaultStatus = (snapshot: AppointmentSnapshot) => (snapshot.origin === 'calcom' ? 'synced' : 'pending')

/** A sync state written for an older version than the snapshot read (its follow-up is under way) is not shown. */
const current = (snapshot: AppointmentSnapshot, sync: SyncStateDoc | undefined) =>
  sync && sync.version >= snapshot.version ? sync : undefined

/** The appointment JSON of the API (DESIGN §4.4): the snapshot plus where its sync stands. */
export function toAppointmentView(snapshot: AppointmentSnapshot, stored: SyncStateDoc | undefined) {
  const sync = current(snapshot, stored)
  return {
    id: snapshot.id,
    tenantId: snapshot.tenantId,
    eventTypeId: snapshot.eventTypeId,
    resource: snapshot.resource,
    start: snapshot.start,
    end: snapshot.end,
    status: snapshot.status,
    /** What Cal.com still waits for: `confirmation` (a requested booking), `new_time` (a host's reschedule request). */
    awaiting: snapshot.awaiting ?? null,
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

export function toSyncStatusView(snapshot: AppointmentSnapshot, stored: SyncStateDoc | undefined) {
  const sync = current(snapshot, stored)
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
