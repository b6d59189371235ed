import {
  type ConsumerDefinition,
  consumerDefinitions,
  type Names,
  type StreamDefinition,
  streamDefinitions,
} from '@calsync/contracts'
import { ensureConsumer, ensureStream } from '@calsync/service-kit'
import type { JetStreamManager } from '@nats-io/jetstream'
import { advisoriesStreamDefinition, reviewAdvisoriesDefinition } from './intake/max-deliveries-consumer.ts'
import { reviewSyncResultsDefinition } from './intake/sync-results-consumer.ts'

/** The streams review reads and its durable consumers: one list for start-up, readiness and metrics. */
export function reviewTopology(names: Names): { streams: StreamDefinition[]; consumers: ConsumerDefinition[] } {
  const streams = streamDefinitions(names)
  return {
    // Review reads the sync stream too; whichever service starts first creates it.
    streams: [streams.review, streams.sync, advisoriesStreamDefinition(names)],
    consumers: [
      consumerDefinitions(names).review,
      reviewSyncResultsDefinition(names),
      reviewAdvisoriesDefinition(names),
    ],
  }
}

/** Creates what is missing of the topology; existing streams and consumers are left as they are. */
export async function ensureReviewTopology(jsm: JetStreamManager, names: Names): Promise<void> {
  const { streams, consumers } = reviewTopology(names)
  for (const stream of streams) await ensureStream(jsm, stream)
  for (const consumer of consumers) await ensureConsumer(jsm, consumer)
}
