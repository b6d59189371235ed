// @calsync/calcom-sandbox — a stand-in for the Cal.com API v2 bookings endpoints and their
// webhooks, for tests and `npm start`; behaves like Cal.com as far as a client can observe.

export { CAL_API_VERSION, INVALID_KEY_MESSAGE, NO_AUTH_MESSAGE } from './api-hooks.ts'
export type { BookingOutput } from './booking-output.ts'
export { RACE_LOST_MESSAGE, SLOT_TAKEN_MESSAGE } from './bookings-routes.ts'
export { THROTTLED_MESSAGE } from './calcom-http-error.ts'
export { type CalcomSandbox, type CalcomSandboxOptions, createCalcomSandbox } from './calcom-sandbox.ts'
export type { SandboxControl } from './control-routes.ts'
export type { FaultAction, FaultMatch, FaultStatus, QueuedFault } from './fault-queue.ts'
export type { RequestRecord } from './request-log.ts'
export type {
  Attendee,
  Booking,
  Metadata,
  SandboxEventType,
  SandboxStore,
  SandboxTenant,
} from './sandbox-store.ts'
export { sandboxTenantsFrom } from './sandbox-tenants.ts'
export { type WebhookTrigger, webhookTime } from './webhook-body.ts'
export { type WebhookDelivery, webhookSignature } from './webhook-sender.ts'
