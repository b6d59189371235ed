import {
  type CalcomBookingWebhook,
  type CalcomNoShowWebhook,
  ERROR_CODES,
  type Names,
  type ReviewRequest,
  type VerifiedNoShow,
  type VerifiedWebhook,
} from '@calsync/contracts'
import { publishMessage } from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'

export interface Published {
  /** JetStream already held a message with this id: an exact re-delivery. */
  duplicate: boolean
}

/**
 * Test-only: asked before each store. 'refuse' stands for a JetStream that cannot store the
 * webhook, 'store-then-refuse' for one that stored it but whose ack never came back; either way
 * the publish throws, as a real one would.
 */
export type QueueFault = () => 'refuse' | 'store-then-refuse' | undefined

export interface WebhookPublisher {
  /** The tenant's own booking webhook, for the appointments service. */
  verified(tenantId: string, deliveryId: string, webhook: CalcomBookingWebhook): Promise<Published>
  /** A no-show update: it names only a booking, which the appointments service maps in the tenant. */
  noShow(tenantId: string, deliveryId: string, webhook: CalcomNoShowWebhook): Promise<Published>
  /** A webhook naming an event type no tenant owns: kept for an operator rather than dropped. */
  unmapped(tenantId: string, deliveryId: string, webhook: CalcomBookingWebhook): Promise<Published>
}

/** Publishes accepted webhooks; resolves only once JetStream has stored them, throws when it cannot. */
export function createWebhookPublisher(deps: {
  js: JetStreamClient
  names: Names
  clock: () => Date
  queueFault?: QueueFault
}): WebhookPublisher {
  const { js, names, clock } = deps
  /** On the tenant's subject for its trigger, the delivery id as Nats-Msg-Id: a re-delivery is a duplicate. */
  async function store(message: VerifiedWebhook | VerifiedNoShow): Promise<Published> {
    const { tenantId, deliveryId } = message
    const subject = names.subjects.webhook(tenantId, message.webhook.triggerEvent)
    const fault = deps.queueFault?.()
    if (fault === 'refuse') throw new Error('injected fault: JetStream did not store the webhook')
    const ack = await publishMessage(js, subject, message, { msgId: deliveryId, tenantId, origin: 'calcom' })
    if (fault === 'store-then-refuse') throw new Error('injected fault: the store was acked too late')
    return { duplicate: ack.duplicate }
  }
  const received = () => clock().toISOString()
  return {
    verified: (tenantId, deliveryId, webhook) =>
      store({ type: 'calcom.webhook.verified', tenantId, deliveryId, receivedAt: received(), webhook }),
    noShow: (tenantId, deliveryId, webhook) =>
      store({ type: 'calcom.no_show.verified', tenantId, deliveryId, receivedAt: received(), webhook }),
    async unmapped(tenantId, deliveryId, webhook) {
      const causeId = `unmapped:${deliveryId}`
      const { eventTypeId, uid: bookingUid } = webhook.payload
      const request: ReviewRequest = {
        type: 'review.requested',
        kind: 'unmapped_event_type',
        causeId,
        tenantId,
        appointmentIds: [],
        errorCode: ERROR_CODES.unknownEventType,
        errorMessage: `Cal.com event type ${eventTypeId} belongs to no tenant (${webhook.triggerEvent} of booking ${bookingUid})`,
        attempts: 0,
        at: clock().toISOString(),
        detail: { eventTypeId, bookingUid, triggerEvent: webhook.triggerEvent, deliveryId, webhook },
      }
      const subject = names.subjects.review(tenantId, 'unmapped_event_type')
      const ack = await publishMessage(js, subject, request, { msgId: causeId, tenantId, origin: 'calcom' })
      return { duplicate: ack.duplicate }
    },
  }
}
