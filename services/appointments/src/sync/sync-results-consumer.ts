import { consumerDefinitions, createSchemaCheck, type Names, SyncResult } from '@calsync/contracts'
import {
  ack,
  errorBackoffMs,
  type HandlingAttempts,
  type InvalidMessage,
  type Logger,
  nak,
  type RunningConsumer,
  startConsumer,
} from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import { AppointmentBusyError, type AppointmentLocks } from '../appointments/appointment-lock.ts'
import type { AppointmentsStore } from '../appointments/appointments-store.ts'
import type { ChangeWriter } from '../appointments/change-writer.ts'
import { type AppointmentHistory, currentTraceId } from '../history/appointment-history.ts'
import { entryOfResult } from '../history/history-entries.ts'
import { applyResult, factsOfResult } from './sync-state.ts'

const checkResult = createSchemaCheck(SyncResult)
const LOCK_WAIT_MS = 2000

/**
 * Applies one of calcom-sync's results to the appointment's sync state and booking chain, under
 * the appointment's lock (the sync state has one writer at a time, so no result is lost to a
 * concurrent one), through the pure `applyResult` (so no result makes it go backwards).
 */
export function createSyncResultApplier(deps: {
  store: AppointmentsStore
  locks: AppointmentLocks
  writer: ChangeWriter
  clock?: () => Date
}) {
  const { store } = deps
  const clock = deps.clock ?? (() => new Date())
  return async function apply(result: SyncResult): Promise<'applied' | 'unknown'> {
    return deps.locks.withLock(result.appointmentId, { waitMs: LOCK_WAIT_MS }, async (lock) => {
      // First: a change whose writer stopped before writing its sync state is finished here.
      await deps.writer.recover(lock)
      const sync = await store.syncDoc(result.appointmentId)
      if (!sync || sync.tenantId !== result.tenantId) return 'unknown'
      // Links first: a webhook that finds a uid before its chain step waits (chain_gap) for it.
      for (const fact of factsOfResult(result)) {
        if (fact.kind === 'moved') await store.link(result.tenantId, fact.from, result.appointmentId, clock())
        await store.link(result.tenantId, fact.uid, result.appointmentId, clock())
      }
      await store.syncStates.replaceOne({ _id: sync._id }, applyResult(sync, result, clock()))
      return 'applied'
    })
  }
}

export function startSyncResultsConsumer(deps: {
  js: JetStreamClient
  names: Names
  apply: ReturnType<typeof createSyncResultApplier>
  history: AppointmentHistory
  logger: Logger
  onInvalid?: (message: InvalidMessage) => Promise<void>
  /** Where redeliveries note their handling, so a message that crashes the process is parked. */
  attempts?: HandlingAttempts
  /** Messages handled at once. */
  concurrency: number
}): Promise<RunningConsumer> {
  const log = deps.logger.child({ consumer: 'sync-results' })
  return startConsumer({
    js: deps.js,
    definition: consumerDefinitions(deps.names).appointmentsSyncResults,
    schema: checkResult,
    logger: deps.logger,
    concurrency: deps.concurrency,
    ...(deps.onInvalid ? { onInvalid: deps.onInvalid } : {}),
    ...(deps.attempts ? { attempts: deps.attempts } : {}),
    handle: async ({ body, deliveryCount }) => {
      try {
        if ((await deps.apply(body)) === 'unknown') {
          log.warn(
            { tenantId: body.tenantId, appointmentId: body.appointmentId },
            'sync result for an unknown appointment',
          )
        } else {
          await deps.history.note(body.tenantId, body.appointmentId, entryOfResult(body, currentTraceId()))
        }
        return ack()
      } catch (error) {
        if (!(error instanceof AppointmentBusyError)) throw error
        return nak(errorBackoffMs(deliveryCount, { initialMs: 100, maxMs: 5000 }))
      }
    },
  })
}
