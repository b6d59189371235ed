import { consumerDefinitions, createSchemaCheck, type Names, SyncResult } from '@calsync/contracts'
import { ack, type InvalidMessage, type Logger, type RunningConsumer, startConsumer } from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { AppointmentsStore, SyncStateDoc } from '../appointments/appointments-store.ts'

const checkResult = createSchemaCheck(SyncResult)

/**
 * Keeps each appointment's sync-tracking fields true from calcom-sync's results. A result for an
 * older version than the one now being synced only contributes the booking uid it learned.
 */
export async function applySyncResult(store: AppointmentsStore, result: SyncResult, now: Date): Promise<void> {
  const state = await store.syncState(result.tenantId, result.appointmentId)
  if (!state) return
  if (result.type === 'sync.succeeded' && result.calcomBookingUid) {
    await store.link(result.tenantId, result.calcomBookingUid, result.appointmentId, now)
  }
  if (result.version < state.version) {
    if (result.type === 'sync.succeeded' && result.calcomBookingUid && !state.calcomBookingUid) {
      await store.syncStates.updateOne({ _id: state._id }, { $set: { calcomBookingUid: result.calcomBookingUid } })
    }
    return
  }
  const common = {
    version: result.version,
    attempts: result.attempt,
    lastAttemptAt: result.at,
    updatedAt: now.toISOString(),
  }
  let update: Partial<SyncStateDoc>
  if (result.type === 'sync.succeeded') {
    update = {
      ...common,
      status: state.status === 'conflict' ? 'conflict' : 'synced',
      verifiedAt: result.at,
      errorCode: null,
      errorMessage: null,
      calcomBookingUid: result.calcomBookingUid ?? state.calcomBookingUid,
    }
    if (state.status !== 'conflict') update.requiresManualReview = false
  } else {
    const failed = result.type === 'sync.failed'
    update = {
      ...common,
      // A double booking stays `conflict` whatever Cal.com answers next: an operator decides.
      status: state.status === 'conflict' ? 'conflict' : failed ? 'failed' : 'pending',
      errorCode: result.errorCode,
      errorMessage: result.errorMessage,
      ...(failed ? { requiresManualReview: true, flaggedAt: result.at } : {}),
    }
  }
  await store.syncStates.updateOne({ _id: state._id }, { $set: update })
}

export function startSyncResultsConsumer(deps: {
  js: JetStreamClient
  names: Names
  store: AppointmentsStore
  logger: Logger
  onInvalid?: (message: InvalidMessage) => Promise<void>
  clock?: () => Date
}): Promise<RunningConsumer> {
  const clock = deps.clock ?? (() => new Date())
  return startConsumer({
    js: deps.js,
    definition: consumerDefinitions(deps.names).appointmentsSyncResults,
    schema: checkResult,
    logger: deps.logger,
    concurrency: 4,
    ...(deps.onInvalid ? { onInvalid: deps.onInvalid } : {}),
    handle: async ({ body }) => {
      await applySyncResult(deps.store, body, clock())
      return ack()
    },
  })
}
