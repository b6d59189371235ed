import { type ConsumerDefinition, createSchemaCheck, type Names, SyncResult } from '@calsync/contracts'
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
import type { SyncResultsStore } from '../stats/sync-results-store.ts'

const checkResult = createSchemaCheck(SyncResult)

/** Review's own durable on the sync stream (the appointments service has another one). */
export function reviewSyncResultsDefinition(names: Names): ConsumerDefinition {
  return {
    stream: names.streams.sync,
    durable: `${names.namespace ? `${names.namespace}_` : ''}review-sync-results`,
    filterSubject: names.subjects.syncResults,
    ackWaitMs: 30_000,
    // Outlasts a 5-minute database outage with the kit's error backoff (see consumerDefinitions).
    maxDeliver: 20,
    maxAckPending: 1000,
  }
}

/**
 * Keeps a record of every sync result for the stats, resolves an appointment's `sync_failed`
 * item when its sync succeeds, and records how an operator's retry failed.
 */
export function startSyncResultsConsumer(deps: {
  js: JetStreamClient
  names: Names
  items: ReviewItemsStore
  results: SyncResultsStore
  logger: Logger
  clock: () => Date
  attempts: HandlingAttempts
}): Promise<RunningConsumer> {
  const log = deps.logger.child({ component: 'sync-results' })
  return startConsumer({
    js: deps.js,
    definition: reviewSyncResultsDefinition(deps.names),
    schema: checkResult,
    logger: deps.logger,
    concurrency: 4,
    attempts: deps.attempts,
    // Same cause id as the appointments service's report of the same message: one item.
    onInvalid: async (message) => {
      await deps.items.record(poisonRequestOf(deps.names, message, deps.clock()), deps.clock())
    },
    handle: async ({ body, raw }) => {
      const now = deps.clock()
      await deps.results.record(body, `${raw.info.stream}:${raw.seq}`, now)
      const where = { tenantId: body.tenantId, appointmentId: body.appointmentId }
      if (body.type === 'sync.succeeded') {
        if (await deps.items.resolveBySync(body.tenantId, body.appointmentId, body, now)) {
          log.info(where, 'review item resolved by a successful sync')
        }
      } else if (body.type === 'sync.failed') {
        if (await deps.items.recordRetryFailure(body.tenantId, body.appointmentId, body, now)) {
          log.info({ ...where, errorCode: body.errorCode }, 'retried sync failed again')
        }
      }
      return ack()
    },
  })
}
