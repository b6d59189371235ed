import { APPOINTMENT_EVENT_TYPES, BOOKING_TRIGGERS, NO_SHOW_TRIGGER, ORIGINS } from '@calsync/contracts'
import { labelCombinations, type Meter, zeroed } from '@calsync/service-kit'
import type { WebhookOutcome } from './calcom/calcom-booking-handler.ts'

/** Every outcome of a booking webhook; a Record, so a new outcome fails to compile until listed. */
const WEBHOOK_OUTCOMES = Object.keys({
  applied: true,
  conflict: true,
  echo: true,
  duplicate: true,
  stale: true,
  deferred: true,
  review: true,
} satisfies Record<WebhookOutcome, true>)

/** Each counter's label sets that start at 0, by metric name: all are enums of contracts. */
export const ZEROED_LABEL_SETS = {
  calsync_events_published_total: labelCombinations({ type: APPOINTMENT_EVENT_TYPES, origin: ORIGINS }),
  calsync_calcom_webhooks_processed_total: [
    ...labelCombinations({ trigger: BOOKING_TRIGGERS, result: WEBHOOK_OUTCOMES }),
    // A no-show update is noted or found stale (calcom-webhook-consumer.ts).
    ...labelCombinations({ trigger: [NO_SHOW_TRIGGER], result: ['applied', 'stale'] }),
  ],
}

/** The appointments service's counters; the consumer backlog gauges come from the service kit. */
export function createAppointmentsMetrics(meter: Meter) {
  const published = zeroed(
    meter.createCounter('calsync_events_published_total', {
      description:
        'Appointment events the outbox relay stored in JetStream (re-publishes JetStream dropped as duplicates excluded)',
    }),
    ZEROED_LABEL_SETS.calsync_events_published_total,
  )
  const processed = zeroed(
    meter.createCounter('calsync_calcom_webhooks_processed_total', {
      description: 'Verified Cal.com webhooks applied by the appointments service, by what they turned out to be',
    }),
    ZEROED_LABEL_SETS.calsync_calcom_webhooks_processed_total,
  )
  return {
    eventPublished(type: string, origin: string): void {
      published.add(1, { type, origin })
    },
    webhookProcessed(trigger: string, result: WebhookOutcome): void {
      processed.add(1, { trigger, result })
    },
  }
}

export type AppointmentsMetrics = ReturnType<typeof createAppointmentsMetrics>
