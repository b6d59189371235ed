import {
  type ConsumerDefinition,
  createSchemaCheck,
  type Names,
  type StreamDefinition,
  streamDefinitions,
} from '@calsync/contracts'
import {
  ack,
  type HandlingAttempts,
  type Logger,
  poisonRequestOf,
  type RunningConsumer,
  startConsumer,
} from '@calsync/service-kit'
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import { Type } from 'typebox'
import type { ReviewItemsStore } from '../items/review-items-store.ts'
import { type MaxDeliveriesAdvisory, poisonRequestOfAdvisory, type StoredMessage } from './poison-requests.ts'

const DAY = 24 * 60 * 60_000

/** The subject JetStream announces a given-up message of `stream` on. */
export const maxDeliveriesSubject = (stream: string) => `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.*`

/**
 * JetStream sends MAX_DELIVERIES advisories on core NATS, where one sent while no review instance
 * listens would be lost. This stream keeps those of calsync's own streams (and only those: other
 * deployments on the same server have other stream names) until review has recorded them.
 */
export function advisoriesStreamDefinition(names: Names): StreamDefinition {
  const own = Object.values(streamDefinitions(names)).map((stream) => stream.name)
  return {
    name: names.namespace ? `${names.namespace}_CALSYNC_ADVISORIES` : 'CALSYNC_ADVISORIES',
    subjects: own.map(maxDeliveriesSubject),
    duplicateWindowMs: 2 * 60_000,
    maxAgeMs: 30 * DAY,
  }
}

export function reviewAdvisoriesDefinition(names: Names): ConsumerDefinition {
  return {
    stream: advisoriesStreamDefinition(names).name,
    durable: `${names.namespace ? `${names.namespace}_` : ''}review-advisories`,
    filterSubject: '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>',
    ackWaitMs: 30_000,
    // Outlasts a 5-minute database outage with the kit's error backoff (see consumerDefinitions).
    maxDeliver: 20,
    maxAckPending: 1000,
  }
}

/** The fields of `io.nats.jetstream.advisory.v1.max_deliver` this service uses; the rest may vary. */
const Advisory = Type.Object({
  stream: Type.String({ minLength: 1 }),
  consumer: Type.String({ minLength: 1 }),
  stream_seq: Type.Integer({ minimum: 1 }),
  deliveries: Type.Integer({ minimum: 1 }),
})
const checkAdvisory = createSchemaCheck(Advisory)

/**
 * The poison-message safety net (DESIGN §5): each message a calsync consumer gave up on becomes a
 * `poison_message` item, with its tenant read from the stored message when it is still there.
 */
export function startMaxDeliveriesConsumer(deps: {
  js: JetStreamClient
  jsm: JetStreamManager
  names: Names
  items: ReviewItemsStore
  logger: Logger
  clock: () => Date
  attempts: HandlingAttempts
}): Promise<RunningConsumer> {
  const log = deps.logger.child({ component: 'max-deliveries' })

  async function fetchStored(advisory: MaxDeliveriesAdvisory): Promise<StoredMessage | undefined> {
    try {
      const stored = await deps.jsm.streams.getMessage(advisory.stream, { seq: advisory.stream_seq })
      return stored ? { subject: stored.subject, data: stored.data } : undefined
    } catch (error) {
      log.debug({ err: error, stream: advisory.stream, seq: advisory.stream_seq }, 'given-up message not readable')
      return undefined
    }
  }

  return startConsumer({
    js: deps.js,
    definition: reviewAdvisoriesDefinition(deps.names),
    schema: checkAdvisory,
    logger: deps.logger,
    concurrency: 4,
    attempts: deps.attempts,
    // An advisory that crashes the consumer is recorded as the poison message it is.
    onInvalid: async (message) => {
      await deps.items.record(poisonRequestOf(deps.names, message, deps.clock()), deps.clock())
    },
    handle: async ({ body }) => {
      const stored = await fetchStored(body)
      const request = poisonRequestOfAdvisory(deps.names, body, stored, deps.clock())
      const outcome = await deps.items.record(request, deps.clock())
      log.warn(
        { stream: body.stream, consumer: body.consumer, seq: body.stream_seq, outcome },
        'message given up after max deliveries',
      )
      return ack()
    },
  })
}
