import { consumerDefinitions, createSchemaCheck, type Names, VerifiedWebhook } from '@calsync/contracts'
import { ack, type InvalidMessage, type Logger, nak, type RunningConsumer, startConsumer } from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { AppointmentsMetrics } from '../metrics.ts'
import type { CalcomBookingHandler } from './calcom-booking-handler.ts'

const checkWebhook = createSchemaCheck(VerifiedWebhook)

/** Deliveries a webhook about a not-yet-known booking waits for the webhook that introduces it. */
const DEFER_DELIVERIES = 5
const deferDelayMs = (deliveryCount: number) => Math.min(200 * 2 ** (deliveryCount - 1), 2000)

/** Durable consumer of verified Cal.com webhooks: acked only after the change is written. */
export function startCalcomWebhookConsumer(deps: {
  js: JetStreamClient
  names: Names
  handler: CalcomBookingHandler
  logger: Logger
  metrics: AppointmentsMetrics
  onInvalid?: (message: InvalidMessage) => Promise<void>
}): Promise<RunningConsumer> {
  const log = deps.logger.child({ consumer: 'calcom-webhooks' })
  return startConsumer({
    js: deps.js,
    definition: consumerDefinitions(deps.names).appointmentsWebhooks,
    schema: checkWebhook,
    logger: deps.logger,
    concurrency: 4,
    ...(deps.onInvalid ? { onInvalid: deps.onInvalid } : {}),
    handle: async ({ body, deliveryCount }) => {
      const outcome = await deps.handler.handle(body.tenantId, body.deliveryId, body.webhook, {
        lastChance: deliveryCount >= DEFER_DELIVERIES,
      })
      deps.metrics.webhookProcessed(body.webhook.triggerEvent, outcome)
      if (outcome === 'deferred') {
        log.debug({ tenantId: body.tenantId, bookingUid: body.webhook.payload.uid, deliveryCount }, 'webhook deferred')
        return nak(deferDelayMs(deliveryCount))
      }
      // Echoes are expected on every change calsync makes; debug keeps them out of the way.
      log[outcome === 'echo' || outcome === 'duplicate' ? 'debug' : 'info'](
        { tenantId: body.tenantId, trigger: body.webhook.triggerEvent, bookingUid: body.webhook.payload.uid, outcome },
        'cal.com webhook handled',
      )
      return ack()
    },
  })
}
