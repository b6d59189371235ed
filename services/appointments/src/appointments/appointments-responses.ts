import { APPOINTMENT_STATUSES, HistoryEntry, ORIGINS, SYNC_STATUSES } from '@calsync/contracts'
import { errorResponse, jsonBodyErrors } from '@calsync/service-kit'
import Type from 'typebox'

/**
 * The answers of the appointments API as the OpenAPI document states them (DESIGN §4.4). They
 * mirror appointment-view.ts field by field; they only document (the kit serializes what the
 * handler returns), and the conformance test holds real answers against them.
 */

const Time = Type.String({ description: 'ISO-8601 UTC.' })
const NullableString = Type.Union([Type.String(), Type.Null()])
const NullableTime = Type.Union([Time, Type.Null()])

const SyncView = Type.Object({
  status: Type.Enum(SYNC_STATUSES),
  attempts: Type.Integer({ minimum: 0 }),
  lastAttemptAt: NullableTime,
  errorCode: NullableString,
  errorMessage: NullableString,
  verifiedAt: NullableTime,
  requiresManualReview: Type.Boolean(),
})

// As stored: an appointment Cal.com created carries the attendee as Cal.com sent it.
const AttendeeView = Type.Object({
  name: Type.String(),
  email: Type.String(),
  timeZone: Type.String(),
  phoneNumber: Type.Optional(Type.String()),
})

export const AppointmentView = Type.Object(
  {
    id: Type.String(),
    tenantId: Type.String(),
    eventTypeId: Type.Integer(),
    resource: Type.String(),
    start: Time,
    end: Time,
    status: Type.Enum(APPOINTMENT_STATUSES),
    awaiting: Type.Union([Type.Literal('confirmation'), Type.Literal('new_time'), Type.Null()], {
      description: 'What Cal.com still waits for: the host to confirm, or the attendee to pick a new time.',
    }),
    origin: Type.Enum(ORIGINS),
    version: Type.Integer({ minimum: 1 }),
    attendee: AttendeeView,
    notes: NullableString,
    calcomBookingUid: NullableString,
    sync: SyncView,
    createdAt: Time,
    updatedAt: Time,
  },
  { description: 'The appointment and where its sync with Cal.com stands.' },
)

const SyncStatusView = Type.Object(
  {
    ...SyncView.properties,
    origin: Type.Enum(ORIGINS),
    flaggedAt: NullableTime,
    calcomBookingUid: NullableString,
    version: Type.Integer({ minimum: 1 }),
    syncedVersion: Type.Union([Type.Integer(), Type.Null()]),
    eventId: NullableString,
    initiatedBy: Type.Object({ origin: Type.Enum(ORIGINS), via: Type.String() }),
  },
  { description: 'Where the sync of the current version stands.' },
)

const unauthorized = errorResponse('No bearer token, or one no tenant has (`unauthorized`).')
const unavailable = errorResponse('The database is unreachable for a moment; retry after `Retry-After` seconds.')
const notFound = errorResponse('No appointment of the token’s tenant has this id (`not_found`).')
const badId = errorResponse('The id or the body is out of bounds (`bad_request`).')
const busy = errorResponse('The appointment is changing right now, or its version was taken (`conflict`).')

export const RESPONSES = {
  create: {
    201: AppointmentView,
    ...jsonBodyErrors(),
    400: errorResponse(
      'The body does not match the schema, the event type is not the tenant’s (`unknown_event_type`) or the Idempotency-Key is malformed.',
    ),
    401: unauthorized,
    409: errorResponse(
      'The slot overlaps another appointment of the resource (`slot_unavailable`), or the Idempotency-Key was used for another request or is still running (`idempotency_conflict`).',
    ),
    503: unavailable,
  },
  list: {
    200: Type.Object(
      { items: Type.Array(AppointmentView), nextCursor: NullableString },
      { description: 'One page, by start time; `nextCursor` asks for the next.' },
    ),
    400: errorResponse('A query parameter is out of bounds, or the cursor is not one this API returned.'),
    401: unauthorized,
    503: unavailable,
  },
  read: { 200: AppointmentView, 400: badId, 401: unauthorized, 404: notFound, 503: unavailable },
  syncStatus: { 200: SyncStatusView, 400: badId, 401: unauthorized, 404: notFound, 503: unavailable },
  history: {
    200: Type.Object(
      { appointmentId: Type.String(), entries: Type.Array(HistoryEntry) },
      { description: 'The appointment’s changes and sync steps, oldest first.' },
    ),
    400: badId,
    401: unauthorized,
    404: notFound,
    503: unavailable,
  },
  cancel: {
    200: AppointmentView,
    ...jsonBodyErrors(),
    401: unauthorized,
    404: notFound,
    409: busy,
    503: unavailable,
  },
  reschedule: {
    200: AppointmentView,
    ...jsonBodyErrors(),
    401: unauthorized,
    404: notFound,
    409: errorResponse(
      'The new time overlaps another appointment (`slot_unavailable`), the appointment is cancelled or changing right now (`conflict`).',
    ),
    503: unavailable,
  },
} as const
