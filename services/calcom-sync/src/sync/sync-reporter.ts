import {
  type AppointmentEvent,
  type BookingStep,
  type Names,
  type ReviewRequest,
  type SyncAction,
  type SyncResult,
  syncResultToken,
} from '@calsync/contracts'
import { publishMessage } from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'

/** What calcom-sync did on Cal.com to reach a version (see the README's "What a result says"). */
export interface SyncFacts {
  calcomBookingUid: string | null
  action: SyncAction
  previousBookingUid: string | null
  start?: string
  steps?: BookingStep[]
}

export type SucceededResult = Extract<SyncResult, { type: 'sync.succeeded' }>

/** Publishes each attempt's outcome for the appointments service, and terminal failures for review. */
export function createSyncReporter(deps: { js: JetStreamClient; names: Names; clock?: () => Date }) {
  const clock = deps.clock ?? (() => new Date())

  async function publish(body: SyncResult, msgId: string) {
    const subject = deps.names.subjects.syncResult(body.tenantId, syncResultToken(body.type))
    await publishMessage(deps.js, subject, body, { msgId, tenantId: body.tenantId })
  }

  const base = (event: AppointmentEvent, attempt: number) => ({
    tenantId: event.tenantId,
    appointmentId: event.appointmentId,
    version: event.version,
    attempt,
    at: clock().toISOString(),
    eventId: event.eventId,
  })

  /**
   * The result of a successful sync with its message id, built before anything is published so
   * that it can be recorded with the mapping and re-published as is.
   */
  function success(
    event: AppointmentEvent,
    attempt: number,
    facts: SyncFacts,
  ): { msgId: string; body: SucceededResult } {
    return {
      msgId: `${event.eventId}:succeeded:${attempt}`,
      body: {
        type: 'sync.succeeded',
        ...base(event, attempt),
        calcomBookingUid: facts.calcomBookingUid,
        action: facts.action,
        previousBookingUid: facts.previousBookingUid,
        ...(facts.start === undefined ? {} : { start: facts.start }),
        ...(facts.steps && facts.steps.length > 0 ? { steps: facts.steps.slice(-50) } : {}),
        changedAt: event.occurredAt,
      },
    }
  }

  return {
    publish,
    success,

    /** `facts` is optional only for the review service's tests, which fake bare successes. */
    async succeeded(event: AppointmentEvent, attempt: number, calcomBookingUid: string | null, facts?: SyncFacts) {
      if (facts) {
        const { msgId, body } = success(event, attempt, { ...facts, calcomBookingUid })
        await publish(body, msgId)
        return
      }
      // A bare success, as a calcom-sync that does not tell what it did would send.
      const { msgId, body } = success(event, attempt, {
        calcomBookingUid,
        action: 'unchanged',
        previousBookingUid: null,
      })
      const { action: _action, previousBookingUid: _previous, ...bare } = body
      await publish(bare, msgId)
    },

    attemptFailed: (event: AppointmentEvent, attempt: number, code: string, message: string, nextAttemptAt: Date) =>
      publish(
        {
          type: 'sync.attempt_failed',
          ...base(event, attempt),
          errorCode: code,
          errorMessage: message,
          nextAttemptAt: nextAttemptAt.toISOString(),
        },
        `${event.eventId}:attempt_failed:${attempt}`,
      ),

    /** Same message ids for the same attempt: a failure published again after a crash is one result, one review item. */
    async failed(
      event: AppointmentEvent,
      attempt: number,
      code: string,
      message: string,
      calcomBookingUid: string | null,
      steps: readonly BookingStep[] = [],
    ) {
      await publish(
        {
          type: 'sync.failed',
          ...base(event, attempt),
          errorCode: code,
          errorMessage: message,
          ...(steps.length > 0 ? { steps: steps.slice(-50) } : {}),
        },
        `${event.eventId}:failed:${attempt}`,
      )
      // One review item per appointment: a failure delivered twice, or failing again after a
      // retry, updates that item instead of adding one.
      const causeId = `sync_failed:${event.tenantId}:${event.appointmentId}`
      const request: ReviewRequest = {
        type: 'review.requested',
        kind: 'sync_failed',
        causeId,
        tenantId: event.tenantId,
        appointmentIds: [event.appointmentId],
        errorCode: code,
        errorMessage: message,
        attempts: attempt,
        at: clock().toISOString(),
        detail: { eventId: event.eventId, version: event.version, eventType: event.type, calcomBookingUid },
      }
      await publishMessage(deps.js, deps.names.subjects.review(event.tenantId, 'sync_failed'), request, {
        msgId: `review:${event.eventId}:${attempt}`,
        tenantId: event.tenantId,
      })
    },
  }
}

export type SyncReporter = ReturnType<typeof createSyncReporter>
