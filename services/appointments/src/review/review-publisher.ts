import { ERROR_CODES, type Names, type ReviewRequest } from '@calsync/contracts'
import { publishMessage } from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'

/** Sends what an operator must look at to the review queue. */
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
  }
}

export type ReviewPublisher = ReturnType<typeof createReviewPublisher>
