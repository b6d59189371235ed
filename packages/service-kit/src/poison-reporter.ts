import { ERROR_CODES, formatIssues, type Names, type ReviewRequest } from '@calsync/contracts'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { InvalidMessage } from './messaging.ts'
import { publishMessage } from './messaging.ts'

const PREVIEW_BYTES = 2048
const MAX_APPOINTMENT_ID_LENGTH = 200

/**
 * The review request for a message parked by a consumer: one that failed its schema, or whose
 * handling crashed the consumer twice. The tenant is read from the subject's tenant token where
 * there is one; the detail names the stored message, so an operator's retry can replay it. The
 * cause id depends only on the stored message: reports of it from several services are one item.
 */
export function poisonRequestOf(names: Names, message: InvalidMessage, at: Date): ReviewRequest {
  const tenantId = tenantOfSubject(names, message.subject) ?? 'unknown'
  const why =
    message.crashes === undefined
      ? {
          errorCode: ERROR_CODES.invalidMessage,
          errorMessage: `message on ${message.subject} failed its schema: ${formatIssues(message.issues)}`,
        }
      : {
          errorCode: ERROR_CODES.handlerCrashed,
          errorMessage: `handling the message on ${message.subject} stopped the consumer ${message.crashes} times in a row; parked so it cannot stop it again`,
        }
  return {
    type: 'review.requested',
    kind: 'poison_message',
    causeId: `poison:${message.stream}:${message.streamSequence}`,
    tenantId,
    appointmentIds: appointmentIdsOfMessage(message.data),
    ...why,
    attempts: message.deliveryCount,
    at: at.toISOString(),
    detail: {
      stream: message.stream,
      consumer: message.consumer,
      subject: message.subject,
      streamSequence: message.streamSequence,
      preview: Buffer.from(message.data.subarray(0, PREVIEW_BYTES)).toString('utf8'),
    },
  }
}

/** Sends a parked message to the review queue as `poison_message`, so the consumer can terminate it and go on. */
export function createPoisonReporter(deps: { js: JetStreamClient; names: Names; clock?: () => Date }) {
  const clock = deps.clock ?? (() => new Date())
  return async function reportPoison(message: InvalidMessage): Promise<void> {
    const request = poisonRequestOf(deps.names, message, clock())
    await publishMessage(deps.js, deps.names.subjects.review(request.tenantId, 'poison_message'), request, {
      msgId: request.causeId,
      tenantId: request.tenantId,
    })
  }
}

/**
 * The appointment a stored message is about, read loosely: a message that failed its schema may
 * still be JSON with a top-level `appointmentId`, and naming it lets an operator find the item.
 */
export function appointmentIdsOfMessage(data: Uint8Array | undefined): string[] {
  if (!data || data.length === 0) return []
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(data).toString('utf8'))
  } catch {
    return []
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) return []
  const id = (decoded as { appointmentId?: unknown }).appointmentId
  // A broken message may carry anything there: only something shaped like an id is named.
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_APPOINTMENT_ID_LENGTH ? [id] : []
}

/** `[ns.]calcom.webhook.<tenant>.…`, `[ns.]appointment.<tenant>.…`, `[ns.]sync.<tenant>.…`, `[ns.]review.<tenant>.…` */
export function tenantOfSubject(names: Names, subject: string): string | undefined {
  const tokens = subject.split('.')
  if (names.namespace) tokens.shift()
  const index = tokens[0] === 'calcom' ? 2 : 1
  const tenant = tokens[index]
  return tenant && /^[a-z0-9-]{1,64}$/.test(tenant) ? tenant : undefined
}
