/**
 * Stable error codes: HTTP bodies carry them as `error`, sync results and review items as
 * `errorCode`. Match on these, never on messages.
 */
export const ERROR_CODES = {
  // Generic HTTP
  badRequest: 'bad_request',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  notFound: 'not_found',
  conflict: 'conflict',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  rateLimited: 'rate_limited',
  unavailable: 'unavailable',
  internal: 'internal_error',
  // Webhook gateway
  missingSignature: 'missing_signature',
  invalidSignature: 'invalid_signature',
  staleDelivery: 'stale_delivery',
  unknownTenant: 'unknown_tenant',
  foreignEventType: 'foreign_event_type',
  invalidBody: 'invalid_body',
  // Appointments
  slotUnavailable: 'slot_unavailable',
  unknownEventType: 'unknown_event_type',
  idempotencyConflict: 'idempotency_conflict',
  // Database
  duplicateKey: 'duplicate_key',
  // Reconciler: calsync and Cal.com apart in a way only an operator can settle
  drift: 'drift',
  webhookSilence: 'webhook_silence',
  // Cal.com calls (retryable)
  calcomNetwork: 'calcom_network_error',
  calcomTimeout: 'calcom_timeout',
  calcomServerError: 'calcom_server_error',
  calcomRateLimited: 'calcom_rate_limited',
  // Cal.com calls (terminal)
  calcomBadRequest: 'calcom_bad_request',
  calcomUnauthorized: 'calcom_unauthorized',
  calcomForbidden: 'calcom_forbidden',
  calcomNotFound: 'calcom_not_found',
  calcomUnprocessable: 'calcom_unprocessable',
  calcomSlotTaken: 'calcom_slot_taken',
  /** The booking was cancelled on Cal.com's side while a local change wanted it booked. */
  calcomBookingCancelled: 'calcom_booking_cancelled',
  // Messaging
  invalidMessage: 'invalid_message',
  maxDeliveries: 'max_deliveries',
  /** Handling the message stopped the consumer's process twice in a row: parked, not handled again. */
  handlerCrashed: 'handler_crashed',
} as const

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES]

/** The JSON body of every HTTP error answer. */
export interface ErrorBody {
  error: ErrorCode
  message: string
}
