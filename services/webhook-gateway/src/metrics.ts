import { BOOKING_TRIGGERS, ERROR_CODES, NO_SHOW_TRIGGER } from '@calsync/contracts'
import { labelCombinations, type Meter, zeroed } from '@calsync/service-kit'

/** The `trigger` label: Cal.com's booking triggers and PING; any other signed trigger is `other`. */
export function triggerLabel(trigger: string): string {
  return trigger === 'PING' || trigger === NO_SHOW_TRIGGER || (BOOKING_TRIGGERS as readonly string[]).includes(trigger)
    ? trigger
    : 'other'
}

/** Every value `triggerLabel` answers. */
export const TRIGGER_LABELS = [...BOOKING_TRIGGERS, NO_SHOW_TRIGGER, 'PING', 'other']

/** Every code the webhook route refuses with (webhook-routes.ts), Fastify's own refusals and a crash included. */
export const REJECTION_REASONS = [
  ERROR_CODES.unsupportedMediaType,
  ERROR_CODES.payloadTooLarge,
  ERROR_CODES.badRequest,
  ERROR_CODES.unknownTenant,
  ERROR_CODES.missingSignature,
  ERROR_CODES.invalidSignature,
  ERROR_CODES.rateLimited,
  ERROR_CODES.invalidBody,
  ERROR_CODES.staleDelivery,
  ERROR_CODES.foreignEventType,
  ERROR_CODES.unavailable,
  ERROR_CODES.internal,
]

/** Each counter's label sets that start at 0, by metric name (`tenantIds`: the tenants registered at start). */
export function zeroedLabelSets(tenantIds: readonly string[]) {
  return {
    calsync_webhooks_received_total: labelCombinations({ tenant: tenantIds, trigger: TRIGGER_LABELS }),
    calsync_webhooks_rejected_total: labelCombinations({ reason: REJECTION_REASONS }),
  }
}

/**
 * The gateway's counters. Every request on the webhook route ends in exactly one of them:
 * received (answered 2xx once its signature held) or rejected (with the error code answered).
 * Both start at 0 for every label set known at start (`zeroedLabelSets`).
 */
export function createGatewayMetrics(meter: Meter, tenantIds: readonly string[]) {
  const zero = zeroedLabelSets(tenantIds)
  const received = zeroed(
    meter.createCounter('calsync_webhooks_received_total', {
      description: 'Signed Cal.com webhook deliveries answered 2xx (accepted, duplicate, ping or ignored trigger)',
    }),
    zero.calsync_webhooks_received_total,
  )
  const rejected = zeroed(
    meter.createCounter('calsync_webhooks_rejected_total', {
      description: 'Cal.com webhook requests refused, by the error code answered',
    }),
    zero.calsync_webhooks_rejected_total,
  )
  return {
    received(tenant: string, trigger: string): void {
      received.add(1, { tenant, trigger: triggerLabel(trigger) })
    },
    rejected(reason: string): void {
      rejected.add(1, { reason })
    },
  }
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>
