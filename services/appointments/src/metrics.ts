import type { Meter } from '@calsync/service-kit'
import type { WebhookOutcome } from './calcom/calcom-booking-handler.ts'

/** The appointments service's counters; the consumer backlog gauges come from the service kit. */
export function createAppointmentsMetrics(meter: Meter) {
  const published = meter.createCounter('calsync_events_published_total', {
    description:
      'Appointment events the outbox relay stored in JetStream (re-publishes JetStream dropped as duplicates excluded)',
  })
  const processed = meter.createCounter('calsync_calcom_webhooks_processed_total', {
    description: 'Verified Cal.com webhooks applied by the appointments service, by what they turned out to be',
  })
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
