// @calsync/contracts — the one place both sides of every calsync message import from.
// A leaf package: schemas (TypeBox), names, stream/consumer definitions, headers and error codes.

export { CALSYNC_METADATA, calsyncAppointmentIdOf } from './calcom-metadata.ts'
export { ERROR_CODES, type ErrorBody, type ErrorCode } from './error-codes.ts'
export { HEADERS, TRACE_ID_HTTP_HEADER } from './headers.ts'
export {
  APPOINTMENT_EVENT_TYPES,
  APPOINTMENT_STATUSES,
  AppointmentEvent,
  type AppointmentEventType,
  AppointmentSnapshot,
  AppointmentStatus,
  Attendee,
  appointmentEventToken,
  driveOf,
  SYNC_STATUSES,
  SyncStatus,
} from './messages/appointment-event.ts'
export {
  CommandError,
  HistoryEntry,
  HistoryReply,
  HistoryRequest,
  RESYNC_STATUSES,
  ResyncReply,
  ResyncRequest,
  SyncStatsReply,
  SyncStatsRequest,
} from './messages/appointments-commands.ts'
export {
  BOOKING_TRIGGERS,
  type BookingTrigger,
  CalcomBookingPayload,
  CalcomBookingWebhook,
  CalcomNoShowWebhook,
  NO_SHOW_TRIGGER,
  VerifiedNoShow,
  VerifiedWebhook,
  WebhookStreamMessage,
} from './messages/calcom-webhook.ts'
export {
  DRIFT_KINDS,
  MAX_REPORTED_DIFFERENCES,
  ReconcileAppointment,
  ReconcileDifference,
  ReconcileReply,
  ReconcileRequest,
  ReconcileViewReply,
  ReconcileViewRequest,
  TenantReconcileReport,
} from './messages/reconcile.ts'
export { REVIEW_KINDS, ReviewKind, ReviewRequest } from './messages/review-request.ts'
export {
  BookingStep,
  SYNC_ACTIONS,
  type SyncAction,
  SyncResult,
  type SyncResultType,
  syncResultToken,
} from './messages/sync-result.ts'
export { createNames, type Names } from './names.ts'
export { isOrigin, ORIGINS, Origin, TOKEN_ORIGINS, TokenOrigin } from './origin.ts'
export {
  type ConsumerDefinition,
  consumerDefinitions,
  type StreamDefinition,
  streamDefinitions,
  WEBHOOK_DUPLICATE_WINDOW_MS,
} from './streams.ts'
export {
  EventTypeMapping,
  TENANT_ID_PATTERN,
  TenantFileEntry,
  TenantRecord,
  TenantsFile,
} from './tenants.ts'
export { extractTraceContext, type HeaderCarrier, injectTraceContext } from './trace-context.ts'
export {
  createSchemaCheck,
  formatIssues,
  pointerToPath,
  type SchemaCheck,
  type ValidationIssue,
  type ValidationResult,
} from './validation.ts'
