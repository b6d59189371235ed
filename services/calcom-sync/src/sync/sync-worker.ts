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
import type { BookingReconciler } from './booking-reconciler.ts'
import type { RateBudget } from './rate-budget.ts'
import type { SyncReporter } from './sync-reporter.ts'
import type { SyncStore } from './sync-store.ts'

const checkEvent = createSchemaCheck(AppointmentEvent)
/** Calls one sync may make (look-up, then write): taken from the tenant's budget up front. */
const CALLS_PER_SYNC = 2
const LEASE_BUSY_DELAY_MS = 250

export interface SyncWorkerDeps {
  js: JetStreamClient
  definition: ConsumerDefinition
  tenants: TenantRegistry
  reconciler: BookingReconciler
  store: SyncStore
  reporter: SyncReporter
  budget: RateBudget
  logger: Logger
  /** Delays before attempts 2, 3, …: `1s,5s,30s` means four attempts in all. */
  backoffMs: number[]
  concurrency: number
  leaseTtlMs: number
  onInvalid?: (message: InvalidMessage) => Promise<void>
  counters?: SyncCounters
  /**
   * Each attempt's outcome, and the change-to-Cal.com latency. Budget waits, busy leases and stale
   * events are no attempts: Cal.com is not asked.
   */
  metrics: SyncMetrics
  clock?: () => Date
}

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
 * The calcom-sync consumer: one appointment event at a time per appointment, Cal.com brought to
 * the event's state, every attempt reported; retries by `nak(delay)` chosen from the attempt count.
 */
export function startSyncWorker(deps: SyncWorkerDeps): Promise<RunningConsumer> {
  const log = deps.logger.child({ component: 'sync-worker' })
  const clock = deps.clock ?? (() => new Date())
  const counters = deps.counters ?? createSyncCounters()
  const owner = randomBytes(6).toString('hex')
  const { metrics } = deps

  async function sync(event: AppointmentEvent): Promise<Outcome> {
    // Loop prevention, layer 1: what came from Cal.com is never pushed back to it (I5).
    if (event.origin === 'calcom') {
      await deps.reconciler.adopt(event)
      counters.skippedCalcomOrigin++
      metrics.attempt('skipped')
      log.debug({ appointmentId: event.appointmentId, version: event.version }, 'calcom-origin event skipped')
      return ack()
    }
    const tenant = deps.tenants.get(event.tenantId)
    if (!tenant) {
      // Tenants can be removed while events wait; nothing can be done without its API key.
      await deps.reporter.failed(
        event,
        1,
        ERROR_CODES.unknownTenant,
        `tenant ${event.tenantId} is not configured`,
        null,
      )
      metrics.attempt('failed', ERROR_CODES.unknownTenant)
      return ack()
    }
    const budget = deps.budget.take(event.tenantId, CALLS_PER_SYNC)
    if (!budget.ok) {
      log.debug({ tenantId: event.tenantId, waitMs: budget.waitMs }, 'tenant call budget spent; waiting')
      return nak(budget.waitMs)
    }
    if (!(await deps.store.acquireLease(event.appointmentId, owner, deps.leaseTtlMs))) {
      log.debug({ appointmentId: event.appointmentId }, 'appointment busy in another worker; retrying shortly')
      return nak(LEASE_BUSY_DELAY_MS)
    }
    try {
      const failures = await deps.store.failures(event.eventId)
      try {
        const result = await deps.reconciler.reconcile(tenant.calcom.apiKey, event)
        if (result.kind === 'stale') {
          log.debug(
            { appointmentId: event.appointmentId, version: event.version },
            'stale event: a newer version is already synced',
          )
          counters.stale++
          return ack()
        }
        await deps.reporter.succeeded(event, failures + 1, result.calcomBookingUid, result)
        counters.succeeded++
        metrics.attempt('succeeded')
        metrics.synced(event.occurredAt, clock())
        return ack()
      } catch (error) {
        if (!(error instanceof CalcomError)) throw error
        return await failedAttempt(event, failures + 1, error)
      }
    } finally {
      await deps.store.releaseLease(event.appointmentId, owner)
    }
  }

  async function failedAttempt(event: AppointmentEvent, attempt: number, error: CalcomError): Promise<Outcome> {
    const context = { appointmentId: event.appointmentId, version: event.version, attempt, code: error.code }
    if (error.retryAfterMs !== undefined) {
      // A rate limit is not the change's fault: wait for the reset without spending an attempt.
      deps.budget.block(event.tenantId, error.retryAfterMs)
      metrics.attempt('retrying', error.code)
      log.warn({ ...context, waitMs: error.retryAfterMs }, 'cal.com rate limit; waiting for the reset')
      return nak(error.retryAfterMs)
    }
    await deps.store.recordFailure(event.eventId, event.tenantId, event.appointmentId, attempt)
    const delay = deps.backoffMs[attempt - 1]
    if (error.retryable && delay !== undefined) {
      await deps.reporter.attemptFailed(event, attempt, error.code, error.message, new Date(clock().getTime() + delay))
      counters.attemptsFailed++
      metrics.attempt('retrying', error.code)
      log.warn({ ...context, retryInMs: delay }, 'cal.com sync attempt failed; will retry')
      return nak(delay)
    }
    await deps.reporter.failed(event, attempt, error.code, error.message, null)
    counters.failed++
    metrics.attempt('failed', error.code)
    log.error({ ...context, retryable: error.retryable }, 'cal.com sync failed for good; sent to review')
    return ack()
  }

  return startConsumer({
    js: deps.js,
    definition: deps.definition,
    schema: checkEvent,
    logger: deps.logger,
    concurrency: deps.concurrency,
    ...(deps.onInvalid ? { onInvalid: deps.onInvalid } : {}),
    handle: async ({ body, deliveryCount }) => {
      log.debug(
        { appointmentId: body.appointmentId, version: body.version, type: body.type, deliveryCount },
        'appointment event received',
      )
      try {
        return await sync(body)
      } catch (error) {
        // The consumer naks it for another try (its database or NATS failed, not Cal.com).
        metrics.attempt('retrying', ERROR_CODES.internal)
        throw error
      }
    },
  })
}
