import { ERROR_CODES, type Names, type ReviewRequest } from '@calsync/contracts'
import { appointmentIdsOfMessage, tenantOfSubject } from '@calsync/service-kit'

const PREVIEW_BYTES = 2048

function preview(data: Uint8Array | undefined): string | null {
  return data ? Buffer.from(data.subarray(0, PREVIEW_BYTES)).toString('utf8') : null
}

/** The fields of a `io.nats.jetstream.advisory.v1.max_deliver` advisory this service uses. */
export interface MaxDeliveriesAdvisory {
  stream: string
  consumer: string
  stream_seq: number
  deliveries: number
}

export interface StoredMessage {
  subject: string
  data: Uint8Array
}

/**
 * A message JetStream gave up on after `max_deliver` deliveries (DESIGN §5 safety net). The
 * detail names the stored message (`stream`, `streamSequence`, `subject`): a retry replays it.
 */
export function poisonRequestOfAdvisory(
  names: Names,
  advisory: MaxDeliveriesAdvisory,
  stored: StoredMessage | undefined,
  now: Date,
): ReviewRequest {
  const tenantId = (stored && tenantOfSubject(names, stored.subject)) ?? 'unknown'
  const where = stored ? `on ${stored.subject}` : `(no longer stored)`
  return {
    type: 'review.requested',
    kind: 'poison_message',
    causeId: `max_deliveries:${advisory.stream}:${advisory.stream_seq}`,
    tenantId,
    appointmentIds: appointmentIdsOfMessage(stored?.data),
    errorCode: ERROR_CODES.maxDeliveries,
    errorMessage: `consumer ${advisory.consumer} gave up on message ${advisory.stream_seq} of ${advisory.stream} ${where} after ${advisory.deliveries} deliveries`,
    attempts: advisory.deliveries,
    at: now.toISOString(),
    detail: {
      stream: advisory.stream,
      consumer: advisory.consumer,
      streamSequence: advisory.stream_seq,
      subject: stored?.subject ?? null,
      preview: preview(stored?.data),
    },
  }
}
