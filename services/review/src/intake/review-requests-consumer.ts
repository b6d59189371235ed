import { consumerDefinitions, createSchemaCheck, type Names, ReviewRequest } from '@calsync/contracts'
import {
  ack,
  type HandlingAttempts,
  type Logger,
  poisonRequestOf,
  type RunningConsumer,
  startConsumer,
} from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { ReviewItemsStore } from '../items/review-items-store.ts'

const checkRequest = createSchemaCheck(ReviewRequest)

/** Turns every `review.requested` into one item per cause (the durable `review` consumer). */
export function startReviewRequestsConsumer(deps: {
  js: JetStreamClient
  names: Names
  items: ReviewItemsStore
  logger: Logger
  clock: () => Date
  attempts: HandlingAttempts
}): Promise<RunningConsumer> {
  const log = deps.logger.child({ component: 'review-requests' })
  return startConsumer({
    js: deps.js,
    definition: consumerDefinitions(deps.names).review,
    schema: checkRequest,
    logger: deps.logger,
    concurrency: 4,
    attempts: deps.attempts,
    // A schema-invalid review request is itself a poison message; recorded here, since
    // publishing it back to the review stream could loop.
    onInvalid: async (message) => {
      const outcome = await deps.items.record(poisonRequestOf(deps.names, message, deps.clock()), deps.clock())
      log.warn({ subject: message.subject, seq: message.streamSequence, outcome }, 'invalid review request recorded')
    },
    handle: async ({ body }) => {
      const outcome = await deps.items.record(body, deps.clock())
      log.info({ tenantId: body.tenantId, kind: body.kind, causeId: body.causeId, outcome }, 'review request taken in')
      return ack()
    },
  })
}
