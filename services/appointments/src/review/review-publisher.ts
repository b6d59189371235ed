import { ERROR_CODES, type Names, type ReviewRequest, type VerifiedWebhook } from '@calsync/contracts'
import { publishMessage } from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'

/** Sends what an operator must look at to the review queue. */
/** Where a webhook is stored, so a review item names it and a retry can replay it. */
export interface StoredDelivery {
  stream: string
  streamSequence: number
  subject: string
  deliveryCount: number
}

export function createReviewPublisher(deps: { js: JetStreamClient; names: Names; clock?: () => Date }) {
  const clock = deps.clock ?? (() => new Date())
  return {
    /** Both bookings are kept and marked `conflict` (I2); one review item names them all. */
    async doubleBooking(tenantId: string, appointmentIds: string[], detail: Record<string, unknown>): Promise<void> {
      const ids = [...new Set(appointmentIds)].sort()
      const causeId = `double_booking:${tenantId}:${ids.join(',')}`
      const request: ReviewRequest = {
        type: 'review.requested',
        kind: 'double_booking',
        causeId,
        tenantId,
        appointmentIds: ids,
        errorCode: ERROR_CODES.slotUnavailable,
        errorMessage: `appointments ${ids.join(' and ')} overlap on the same resource`,
        attempts: 0,
        at: clock().toISOString(),
        detail,
      }
      await publishMessage(deps.js, deps.names.subjects.review(tenantId, 'double_booking'), request, {
        msgId: causeId,
        tenantId,
      })
    },

    /** A webhook answered 2xx that calsync cannot apply safely: an operator decides (I3). */
    async unappliedWebhook(
      message: VerifiedWebhook,
      delivery: StoredDelivery,
      appointmentIds: string[],
      code: string,
      errorMessage: string,
    ): Promise<void> {
      const { tenantId, webhook } = message
      const causeId = `unapplied_webhook:${tenantId}:${message.deliveryId}`
      const request: ReviewRequest = {
        type: 'review.requested',
        kind: 'unapplied_webhook',
        causeId,
        tenantId,
        appointmentIds,
        errorCode: code,
        errorMessage: `${webhook.triggerEvent} of booking ${webhook.payload.uid}: ${errorMessage}`,
        attempts: delivery.deliveryCount,
        at: clock().toISOString(),
        detail: {
          stream: delivery.stream,
          streamSequence: delivery.streamSequence,
          subject: delivery.subject,
          trigger: webhook.triggerEvent,
          bookingUid: webhook.payload.uid,
          rescheduleUid: webhook.payload.rescheduleUid ?? null,
          eventTypeId: webhook.payload.eventTypeId,
          deliveryId: message.deliveryId,
        },
      }
      await publishMessage(deps.js, deps.names.subjects.review(tenantId, 'unapplied_webhook'), request, {
        msgId: causeId,
        tenantId,
      })
    },
  }
}

export type ReviewPublisher = ReturnType<typeof createReviewPublisher>
