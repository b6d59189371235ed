// @calsync/calcom-sandbox — a stand-in for the Cal.com API v2 bookings endpoints and webhooks,
// for tests and `npm start`; behaves like Cal.com as far as calsync can observe.

export { CAL_API_VERSION, SLOT_TAKEN_MESSAGE } from './bookings-routes.ts'
export type { FaultAction, FaultMatch } from './faults.ts'
export { type CalcomSandbox, createCalcomSandbox, type RequestRecord, type SandboxOptions } from './sandbox.ts'
export type { Booking, SandboxEventType, SandboxTenant } from './sandbox-store.ts'
export { sandboxTenantsFrom } from './sandbox-tenants.ts'
export type { WebhookDelivery } from './webhook-sender.ts'
