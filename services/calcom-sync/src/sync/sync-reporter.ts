import {
  type AppointmentEvent,
  type Names,
  type ReviewRequest,
  type SyncResult,
  syncResultToken,
} from '@calsync/contracts'
import { publishMessage } from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { SyncFacts } from './booking-reconciler.ts'

/** Publishes each attempt's outcome for the appointments service, and terminal failures for review. */
export function createSyncReporter(deps: { js: JetStreamClient; names: Names; clock?: () => Date }) {
  const clock = deps.clock ?? (() => new Date())

  async function result(body: SyncResult, msgId: string) {
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

  return {
    /** `facts` is optional only for the review service's tests, which fake bare successes. */
    succeeded: (event: AppointmentEvent, attempt: number, calcomBookingUid: string | null, facts?: SyncFacts) =>
      result(
        {
          type: 'sync.succeeded',
          ...base(event, attempt),
          calcomBookingUid,
          ...(facts && {
            action: facts.action,
            previousBookingUid: facts.previousBookingUid,
            ...(facts.start === undefined ? {} : { start: facts.start }),
          }),
          changedAt: event.occurredAt,
        },
        `${event.eventId}:succeeded:${attempt}`,
      ),

    attemptFailed: (event: AppointmentEvent, attempt: number, code: string, message: string, nextAttemptAt: Date) =>
      result(
        {
          type: 'sync.attempt_failed',
          ...base(event, attempt),
          errorCode: code,
          errorMessage: message,
          nextAttemptAt: nextAttemptAt.toISOString(),
        },
        `${event.eventId}:attempt_failed:${attempt}`,
      ),

    async failed(
      event: AppointmentEvent,
      attempt: number,
      code: string,
      message: string,
      calcomBookingUid: string | null,
    ) {
      await result(
        { type: 'sync.failed', ...base(event, attempt), errorCode: code, errorMessage: message },
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
