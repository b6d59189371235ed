import { type DemoContext, type DemoStep, waitForSynced } from '../demo-context.ts'
import { DemoError } from '../demo-error.ts'
import { pollFor } from '../poll.ts'
import type { SyncStatusView } from '../stack-clients.ts'

/** Only booking creates fail: lookups still answer, as they would in a partial outage. */
const CREATE_PATH = '^/v2/bookings$'

const seconds = (ms: number) => (ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`)

/** Lifts the tenant's outage faults; also run before the first step, in case an interrupted run left some. */
export async function liftOutage(context: Pick<DemoContext, 'sandbox' | 'tenant'>): Promise<number> {
  return context.sandbox.clearFaults(context.tenant.id)
}

/**
 * e. Cal.com fails every attempt of a sync: the appointment lands in the review queue; once Cal.com
 * is back an operator's retry syncs it and resolves the item.
 */
export const outageStep: DemoStep = {
  key: 'e',
  title: 'A Cal.com outage ends in the review queue, and a retry fixes it',
  async run(context) {
    const { tenant, report, config } = context
    const attempts = config.backoffMs.length + 1
    await context.sandbox.addFault(
      { method: 'POST', path: CREATE_PATH, tenantId: tenant.id },
      { status: 500 },
      attempts,
    )
    report.line(`Cal.com outage: the sandbox answers 500 to ${tenant.id}'s next ${attempts} booking creates`)
    const { appointment } = await context.appointments.create({
      eventTypeId: tenant.eventType.id,
      start: context.nextSlot(),
      attendee: { name: 'Marta Costa', email: 'marta@example.org', timeZone: 'Europe/Lisbon' },
    })
    const totalBackoff = config.backoffMs.reduce((sum, ms) => sum + ms, 0)
    report.line(
      `POST /v1/appointments → ${appointment.id}; waiting for calcom-sync's ${attempts} attempts ` +
        `(retries after ${config.backoffMs.map(seconds).join(', ')}: CALSYNC_SYNC_BACKOFF, about ${seconds(totalBackoff)})…`,
    )
    const failed: SyncStatusView = await pollFor(
      `the sync of ${appointment.id} to fail after ${attempts} attempts`,
      async () => {
        const status = await context.appointments.syncStatus(appointment.id)
        if (status.status === 'synced') {
          throw new DemoError(
            `the sync succeeded after ${status.attempts} attempts: the stack retries more often than ` +
              `CALSYNC_SYNC_BACKOFF=${config.backoffMs.map(seconds).join(',')} says; run the demo with the stack's value`,
          )
        }
        return status.status === 'failed' ? status : undefined
      },
      config.waitMs + totalBackoff,
    )
    report.line(`sync ${failed.status} after ${failed.attempts} attempts (${failed.errorCode})`)
    const item = await pollFor(
      `a sync_failed review item for ${appointment.id}`,
      async () =>
        (await context.review.openItems('sync_failed')).find((candidate) =>
          candidate.appointmentIds.includes(appointment.id),
        ),
      config.waitMs,
    )
    report.line(`review queue: ${item.id} (${item.kind}, ${item.errorCode}, ${item.attempts} attempts, ${item.status})`)
    report.look(`${config.reviewUrl}/ (the dashboard; token CALSYNC_ADMIN_TOKEN)`)

    const drained = await liftOutage(context)
    report.line(`Cal.com is back${drained > 0 ? ` (${drained} unused fault(s) lifted)` : ''}`)
    const retry = await context.review.retry(item.id)
    if (!retry.dispatched) throw new DemoError(`the retry of ${item.id} was not dispatched to the appointments service`)
    report.line(`POST /v1/review-items/${item.id}/retry → dispatched`)
    const synced = await waitForSynced(context, appointment.id, 'the retried sync', { failedIsFinal: false })
    report.line(`sync ${synced.status}, Cal.com booking ${synced.calcomBookingUid}`)
    const resolved = await pollFor(
      `review item ${item.id} to resolve itself`,
      async () => {
        const current = await context.review.item(item.id)
        return current.status === 'resolved' ? current : undefined
      },
      config.waitMs,
    )
    report.line(`review item ${resolved.id} ${resolved.status}${resolved.note ? ` (${resolved.note})` : ''}`)
  },
}
