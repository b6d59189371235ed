import {
  type ConsumerDefinition,
  consumerDefinitions,
  createSchemaCheck,
  type Names,
  type VerifiedNoShow,
  type VerifiedWebhook,
  WebhookStreamMessage,
} from '@calsync/contracts'
import {
  ack,
  errorBackoffMs,
  type HandlingAttempts,
  type InvalidMessage,
  type Logger,
  nak,
  type RunningConsumer,
  startConsumer,
} from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import { AppointmentBusyError } from '../appointments/appointment-lock.ts'
import type { AppointmentsMetrics } from '../metrics.ts'
import type { CalcomBookingHandler } from './calcom-booking-handler.ts'

const checkWebhook = createSchemaCheck(WebhookStreamMessage)

/**
 * How long a webhook may wait for what it depends on (the webhook that introduces its booking,
 * calsync's own sync result): redeliveries at `initialMs` doubling to `maxMs`; at delivery
 * `deliveries` the wait is over and it goes to review. The default waits about 15 minutes.
 */
export interface WebhookWait {
  initialMs: number
  maxMs: number
  deliveries: number
}

export const DEFAULT_WEBHOOK_WAIT: WebhookWait = { initialMs: 250, maxMs: 30_000, deliveries: 36 }

/** Durable consumer of verified Cal.com webhooks: acked only after the change is written or reviewed. */
export function startCalcomWebhookConsumer(deps: {
  js: JetStreamClient
  names: Names
  handler: CalcomBookingHandler
  logger: Logger
  metrics: AppointmentsMetrics
  wait?: WebhookWait
  onInvalid?: (message: InvalidMessage) => Promise<void>
  /** Where redeliveries note their handling, so a message that crashes the process is parked. */
  attempts?: HandlingAttempts
  /** Messages handled at once. */
  concurrency: number
  /** Test-only: sees each message before it is handled. */
  beforeWebhook?: (message: VerifiedWebhook | VerifiedNoShow) => void
}): Promise<RunningConsumer> {
  const log = deps.logger.child({ consumer: 'calcom-webhooks' })
  const definition: ConsumerDefinition = consumerDefinitions(deps.names).appointmentsWebhooks
  const wait = deps.wait ?? DEFAULT_WEBHOOK_WAIT
  if (wait.deliveries >= definition.maxDeliver) {
    throw new Error(
      `webhook wait of ${wait.deliveries} deliveries must stay below the consumer's ${definition.maxDeliver}`,
    )
  }
  const waitMs = (deliveryCount: number) =>
    errorBackoffMs(deliveryCount, { initialMs: wait.initialMs, maxMs: wait.maxMs })
  return startConsumer({
    js: deps.js,
    definition,
    schema: checkWebhook,
    logger: deps.logger,
    concurrency: deps.concurrency,
    ...(deps.onInvalid ? { onInvalid: deps.onInvalid } : {}),
    ...(deps.attempts ? { attempts: deps.attempts } : {}),
    handle: async ({ body, deliveryCount, streamSequence, subject, raw }) => {
      deps.beforeWebhook?.(body)
      if (body.type === 'calcom.no_show.verified') {
        const noted = await deps.handler.noShow(body)
        deps.metrics.webhookProcessed(body.webhook.triggerEvent, noted ? 'applied' : 'stale')
        log.info(
          { tenantId: body.tenantId, bookingUid: body.webhook.payload.bookingUid, noted },
          noted ? 'no-show update noted' : 'no-show update for a booking calsync does not know',
        )
        return ack()
      }
      const context = {
        tenantId: body.tenantId,
        trigger: body.webhook.triggerEvent,
        bookingUid: body.webhook.payload.uid,
      }
      let outcome: Awaited<ReturnType<CalcomBookingHandler['handle']>>
      try {
        outcome = await deps.handler.handle(body, {
          stream: definition.stream,
          streamSequence,
          subject,
          deliveryCount,
          lastChance: deliveryCount >= wait.deliveries,
          pending: raw.info.pending,
        })
      } catch (error) {
        if (!(error instanceof AppointmentBusyError)) throw error
        outcome = 'deferred'
      }
      deps.metrics.webhookProcessed(body.webhook.triggerEvent, outcome)
      if (outcome === 'deferred') {
        log.debug({ ...context, deliveryCount }, 'webhook waits for what it depends on')
        return nak(waitMs(deliveryCount))
      }
      // Echoes are expected on every change calsync makes; debug keeps them out of the way.
      log[outcome === 'echo' || outcome === 'duplicate' ? 'debug' : 'info'](
        { ...context, outcome },
        'cal.com webhook handled',
      )
      return ack()
    },
  })
}
