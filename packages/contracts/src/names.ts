/**
 * Every NATS name calsync uses, derived from one namespace so that deployments (and tests)
 * can share a NATS server without seeing each other's streams, subjects or buckets.
 */
export interface Names {
  namespace: string
  streams: { webhooks: string; appointments: string; sync: string; review: string }
  consumers: {
    appointmentsWebhooks: string
    appointmentsSyncResults: string
    calcomSync: string
    review: string
  }
  buckets: {
    tenants: string
    /** calcom-sync's Cal.com call budget: one entry per API key (hashed), shared by all instances. */
    calcomBudget: string
    /** When each tenant's last webhook was accepted (written by the gateways, read by the reconciler). */
    webhookActivity: string
    /** Which redeliveries died while being handled, so a message that crashes a consumer is parked. */
    handlingAttempts: string
  }
  subjects: {
    webhook(tenantId: string, trigger: string): string
    webhooks: string
    appointmentEvent(tenantId: string, event: string): string
    appointmentEvents: string
    syncResult(tenantId: string, result: string): string
    syncResults: string
    review(tenantId: string, kind: string): string
    reviews: string
    /** Request/reply commands served by the appointments service (e.g. resync queries). */
    appointmentsCommand(command: string): string
    /** Request/reply commands served by calcom-sync (the reconciler). */
    calcomSyncCommand(command: string): string
  }
}

const NAMESPACE_PATTERN = /^[A-Za-z0-9_-]{0,32}$/

/** `namespace` '' gives the production names of DESIGN §5, e.g. `appointment.<tenant>.<event>`. */
export function createNames(namespace = ''): Names {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new Error(`invalid NATS namespace "${namespace}": use up to 32 of A-Z a-z 0-9 _ -`)
  }
  const subject = (...tokens: string[]) => [namespace, ...tokens].filter(Boolean).join('.')
  const stream = (name: string) => (namespace ? `${namespace}_${name}` : name)
  const durable = (name: string) => (namespace ? `${namespace}_${name}` : name)
  return {
    namespace,
    streams: {
      webhooks: stream('CALSYNC_WEBHOOKS'),
      appointments: stream('CALSYNC_APPOINTMENTS'),
      sync: stream('CALSYNC_SYNC'),
      review: stream('CALSYNC_REVIEW'),
    },
    consumers: {
      appointmentsWebhooks: durable('appointments-webhooks'),
      appointmentsSyncResults: durable('appointments-sync-results'),
      calcomSync: durable('calcom-sync'),
      review: durable('review'),
    },
    buckets: {
      tenants: namespace ? `${namespace}_calsync_tenants` : 'calsync_tenants',
      calcomBudget: namespace ? `${namespace}_calsync_calcom_budget` : 'calsync_calcom_budget',
      webhookActivity: namespace ? `${namespace}_calsync_webhook_activity` : 'calsync_webhook_activity',
      handlingAttempts: namespace ? `${namespace}_calsync_handling_attempts` : 'calsync_handling_attempts',
    },
    subjects: {
      webhook: (tenantId, trigger) => subject('calcom', 'webhook', tenantId, trigger),
      webhooks: subject('calcom', 'webhook', '>'),
      appointmentEvent: (tenantId, event) => subject('appointment', tenantId, event),
      appointmentEvents: subject('appointment', '>'),
      syncResult: (tenantId, result) => subject('sync', tenantId, result),
      syncResults: subject('sync', '>'),
      review: (tenantId, kind) => subject('review', tenantId, kind),
      reviews: subject('review', '>'),
      appointmentsCommand: (command) => subject('calsync', 'appointments', command),
      calcomSyncCommand: (command) => subject('calsync', 'calcom-sync', command),
    },
  }
}
