import { BOOKING_TRIGGERS, NO_SHOW_TRIGGER } from '@calsync/contracts'
import type { Meter } from '@calsync/service-kit'

/** The `trigger` label: Cal.com's booking triggers and PING; any other signed trigger is `other`. */
export function triggerLabel(trigger: string): string {
  return trigger === 'PING' || trigger === NO_SHOW_TRIGGER || (BOOKING_TRIGGERS as readonly string[]).includes(trigger)
    ? trigger
    : 'other'
}

/**
 * The gateway's counters. Every request on the webhook route ends in exactly one of them:
 * received (answered 2xx once its signature held) or rejected (with the error code answered).
 */
export function createGatewayMetrics(meter: Meter) {
  const received = meter.createCounter('calsync_webhooks_received_total', {
    description: 'Signed Cal.com webhook deliveries answered 2xx (accepted, duplicate, ping or ignored trigger)',
  })
  const rejected = meter.createCounter('calsync_webhooks_rejected_total', {
    description: 'Cal.com webhook requests refused, by the error code answered',
  })
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
