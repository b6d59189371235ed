import { randomBytes } from 'node:crypto'
import { AppointmentEvent, type ConsumerDefinition, createSchemaCheck, ERROR_CODES } from '@calsync/contracts'
import {
  ack,
  type InvalidMessage,
  type Logger,
  nak,
  type Outcome,
  type RunningConsumer,
  startConsumer,
  type TenantRegistry,
} from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import { CalcomError } from '../calcom/calcom-errors.ts'
import type { SyncMetrics } from '../metrics.ts'
import { holdLease, LeaseLostError } from './appointment-lease.ts'
import type { BookingReconciler } from './booking-reconciler.ts'
import { dispositionOf, newestSeen, seenKeyOf } from './event-disposition.ts'
import type { SyncReporter } from './sync-reporter.ts'
import type { MappingDoc, SyncStore } from './sync-store.ts'

const checkEvent = createSchemaCheck(AppointmentEvent)
/** After a lost lease: the worker that took it over is on it; look again soon. */
const LEASE_LOST_DELAY_MS = 1000

export interface SyncWorkerDeps {
  js: JetStreamClient
  definition: ConsumerDefinition
  tenants: TenantRegistry
  reconciler: BookingReconciler
  store: SyncStore
  reporter: SyncReporter
  logger: Logger
  /** Delays before attempts 2, 3, …: `1s,5s,30s` means four attempts in all. */
  backoffMs: number[]
  concurrency: number
  leaseTtlMs: number
  onInvalid?: (message: InvalidMessage) => Promise<void>
  counters?: SyncCounters
  /** Each attempt's outcome, and the change-to-Cal.com latency. Waits and superseded events are no attempts. */
  metrics: SyncMetrics
  /** Aborted when the service stops: waits for a lease end then. */
  signal?: AbortSignal
  /** Test-only fault injection: called at the points where a crash matters most (main.ts can SIGKILL there). */
  faultPoint?: (point: SyncFaultPoint) => void
  clock?: () => Date
}

/** Where a worker dying leaves the most half-done: holding the lease, Cal.com changed, result unsent. */
export type SyncFaultPoint = 'during-lease' | 'after-calcom-answer' | 'before-result-publish'

export interface SyncCounters {
  skippedCalcomOrigin: number
  stale: number
  succeeded: number
  attemptsFailed: number
  failed: number
}

export function createSyncCounters(): SyncCounters {
  return { skippedCalcomOrigin: 0, stale: 0, succeeded: 0, attemptsFailed: 0, failed: 0 }
}

/**
 * The calcom-sync consumer. Per appointment, one event at a time in this process and, through a
 * renewed lease, across instances; judged against the newest event seen (event-disposition.ts);
 * Cal.com brought to the event's state (booking-reconciler.ts); the mapping and the result it
 * publishes recorded together, so a result lost on the way is published again. Waiting (for the
 * lease, the shared call budget) keeps the message alive and spends no delivery; only real
 * Cal.com failures count as attempts, retried by `nak(delay)`.
 */
export async function startSyncWorker(deps: SyncWorkerDeps): Promise<RunningConsumer> {
  const log = deps.logger.child({ component: 'sync-worker' })
  const clock = deps.clock ?? (() => new Date())
  const counters = deps.counters ?? createSyncCounters()
  const owner = randomBytes(6).toString('hex')
  const { metrics, store, reporter } = deps
  const stopping = new AbortController()
  deps.signal?.addEventListener('abort', () => stopping.abort(deps.signal?.reason), { once: true })
  // One appointment's events in this process wait for each other instead of polling the lease.
  const queues = new Map<string, Promise<unknown>>()

  function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = queues.get(key) ?? Promise.resolve()
    const next = previous.then(work, work)
    const settled = next.catch(() => undefined)
    queues.set(key, settled)
    void settled.then(() => {
      if (queues.get(key) === settled) queues.delete(key)
    })
    return next
  }

  async function sync(event: AppointmentEvent): Promise<Outcome> {
    const tenant = deps.tenants.get(event.tenantId)
    if (!tenant && event.origin !== 'calcom') {
      // Tenants can be removed while events wait; nothing can be done without its API key.
      await reporter.failed(event, 1, ERROR_CODES.unknownTenant, `tenant ${event.tenantId} is not configured`, null)
      metrics.attempt('failed', ERROR_CODES.unknownTenant)
      return ack()
    }
    const lease = await holdLease(event.appointmentId, {
      store,
      owner,
      ttlMs: deps.leaseTtlMs,
      signal: stopping.signal,
    })
    try {
      deps.faultPoint?.('during-lease')
      let mapping = await store.mapping(event.tenantId, event.appointmentId)
      const disposition = dispositionOf(mapping, event)
      const context = { appointmentId: event.appointmentId, version: event.version, eventId: event.eventId }
      switch (disposition) {
        case 'superseded':
          counters.stale++
          log.debug(context, 'superseded: a newer version of the appointment was seen')
          return ack()
        case 'adopt':
          await adopt(event, mapping)
          return ack()
        case 'republish':
          // The recorded result, same message id: JetStream drops it if the first publish got through.
          if (mapping.lastResult) await reporter.publish(mapping.lastResult.body, mapping.lastResult.msgId)
          counters.stale++
          return ack()
        case 'confirm': {
          const recorded = mapping.lastResult?.body
          const { msgId, body } = reporter.success(event, 1, {
            calcomBookingUid: mapping.calcomBookingUid,
            action: recorded?.action ?? 'unchanged',
            previousBookingUid: recorded?.previousBookingUid ?? null,
            ...(recorded?.start ? { start: recorded.start } : {}),
            ...(recorded?.steps ? { steps: recorded.steps } : {}),
          })
          await store.saveMapping({ ...mapping, seen: seenKeyOf(event), lastResult: { msgId, body } })
          await reporter.publish(body, msgId)
          return ack()
        }
        case 'sync':
          break
      }
      const attemptDoc = await store.attempt(event.eventId)
      if (attemptDoc?.terminal) {
        // Failed for good before its failure was surely published: publish it again, same ids.
        const { code, message, attempt } = attemptDoc.terminal
        await reporter.failed(event, attempt, code, message, mapping.calcomBookingUid, mapping.steps)
        return ack()
      }
      if (!tenant) throw new Error(`tenant ${event.tenantId} vanished`)
      mapping = await store.saveMapping({ ...mapping, seen: newestSeen(mapping.seen, seenKeyOf(event)) })
      const failures = attemptDoc?.failures ?? 0
      const attempt = failures + 1
      try {
        const outcome = await deps.reconciler.reconcile({
          apiKey: tenant.calcom.apiKey,
          event,
          mapping,
          retry: failures > 0,
          lease,
        })
        deps.faultPoint?.('after-calcom-answer')
        const result = reporter.success(event, attempt, outcome)
        lease.check()
        await store.saveMapping({
          ...outcome.mapping,
          syncedVersion: event.version,
          syncedStatus: event.appointment.status,
          syncedStart: event.appointment.start,
          inFlight: null,
          lastResult: result,
        })
        deps.faultPoint?.('before-result-publish')
        await reporter.publish(result.body, result.msgId)
        counters.succeeded++
        metrics.attempt('succeeded')
        metrics.synced(event.occurredAt, clock())
        return ack()
      } catch (error) {
        if (error instanceof LeaseLostError) {
          log.warn(context, 'lease lost during the sync; the worker holding it now carries on')
          return nak(LEASE_LOST_DELAY_MS)
        }
        if (!(error instanceof CalcomError)) throw error
        return await failedAttempt(event, attempt, error, mapping)
      }
    } finally {
      await lease.release().catch((error: unknown) => log.warn({ err: error }, 'could not release a lease'))
    }
  }

  /** Records what Cal.com already holds for a change that came from Cal.com: no call at all (I5). */
  async function adopt(event: AppointmentEvent, mapping: MappingDoc): Promise<void> {
    const uid = event.appointment.calcomBookingUid ?? mapping.calcomBookingUid
    const { changedAt: _notOurs, ...body } = reporter.success(event, 1, {
      calcomBookingUid: uid,
      action: 'unchanged',
      previousBookingUid: null,
    }).body
    const result = { msgId: `${event.eventId}:succeeded:1`, body }
    await store.saveMapping({
      ...mapping,
      seen: newestSeen(mapping.seen, seenKeyOf(event)),
      calcomBookingUid: uid,
      uidHistory: uid && !mapping.uidHistory.includes(uid) ? [...mapping.uidHistory, uid] : mapping.uidHistory,
      syncedVersion: event.version,
      syncedStatus: event.appointment.status,
      syncedStart: event.appointment.start,
      lastResult: result,
    })
    // The appointments service marked it synced itself; this result tells it that calcom-sync is
    // done with every older version too (an older one still waiting for its retry is superseded).
    await reporter.publish(result.body, result.msgId)
    counters.skippedCalcomOrigin++
    metrics.attempt('skipped')
    log.debug({ appointmentId: event.appointmentId, version: event.version }, 'calcom-origin event adopted')
  }

  async function failedAttempt(
    event: AppointmentEvent,
    attempt: number,
    error: CalcomError,
    mapping: MappingDoc,
  ): Promise<Outcome> {
    const context = { appointmentId: event.appointmentId, version: event.version, attempt, code: error.code }
    if (error.retryAfterMs !== undefined) {
      // Cal.com's limit held after the client's own waits: not the change's fault, no attempt spent.
      metrics.attempt('retrying', error.code)
      log.warn({ ...context, waitMs: error.retryAfterMs }, 'cal.com rate limit; waiting for the reset')
      return nak(error.retryAfterMs)
    }
    const delay = deps.backoffMs[attempt - 1]
    if (error.retryable && delay !== undefined) {
      await store.recordFailure(event.eventId, event.tenantId, event.appointmentId, attempt, null)
      await reporter.attemptFailed(event, attempt, error.code, error.message, new Date(clock().getTime() + delay))
      counters.attemptsFailed++
      metrics.attempt('retrying', error.code)
      log.warn({ ...context, retryInMs: delay }, 'cal.com sync attempt failed; will retry')
      return nak(delay)
    }
    const terminal = { code: error.code, message: error.message, attempt }
    await store.recordFailure(event.eventId, event.tenantId, event.appointmentId, attempt, terminal)
    // The steps as stored now: this attempt's calls that went through before the failure included.
    const steps = (await store.mapping(event.tenantId, event.appointmentId)).steps
    await reporter.failed(event, attempt, error.code, error.message, mapping.calcomBookingUid, steps)
    counters.failed++
    metrics.attempt('failed', error.code)
    log.error({ ...context, retryable: error.retryable }, 'cal.com sync failed for good; sent to review')
    return ack()
  }

  const consumer = await startConsumer({
    js: deps.js,
    definition: deps.definition,
    schema: checkEvent,
    logger: deps.logger,
    concurrency: deps.concurrency,
    workingEveryMs: Math.max(100, Math.floor(deps.definition.ackWaitMs / 3)),
    ...(deps.onInvalid ? { onInvalid: deps.onInvalid } : {}),
    handle: async ({ body, deliveryCount }) => {
      log.debug(
        { appointmentId: body.appointmentId, version: body.version, type: body.type, deliveryCount },
        'appointment event received',
      )
      try {
        return await oneAtATime(body.appointmentId, () => sync(body))
      } catch (error) {
        if (stopping.signal.aborted) return nak(0)
        // The consumer naks it for another try (its database or NATS failed, not Cal.com).
        metrics.attempt('retrying', ERROR_CODES.internal)
        throw error
      }
    },
  })

  return {
    isRunning: () => consumer.isRunning(),
    async stop() {
      // Waits for a lease or the call budget end now; calls under way finish.
      stopping.abort(new Error('calcom-sync is stopping'))
      await consumer.stop()
    },
  }
}
