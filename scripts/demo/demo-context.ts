import type { EventTypeMapping } from '@calsync/contracts'
import type { DemoConfig } from './demo-config.ts'
import { DemoError } from './demo-error.ts'
import { pollFor } from './poll.ts'
import type { Reporter } from './reporter.ts'
import type {
  AppointmentView,
  appointmentsClient,
  calcomClient,
  reviewClient,
  SyncStatusView,
  sandboxControl,
} from './stack-clients.ts'

/** The tenant the demo acts for, with the secrets it needs to act as its phone agent and as its Cal.com user. */
export interface DemoTenant {
  id: string
  token: string
  origin: string
  apiKey: string
  eventType: EventTypeMapping
}

export interface DemoContext {
  config: DemoConfig
  tenant: DemoTenant
  appointments: ReturnType<typeof appointmentsClient>
  review: ReturnType<typeof reviewClient>
  calcom: ReturnType<typeof calcomClient>
  sandbox: ReturnType<typeof sandboxControl>
  report: Reporter
  /** The next of this run's free slots, as an ISO string. */
  nextSlot(): string
}

/** What the steps hand on to later steps. */
export interface DemoState {
  phoneAppointment?: AppointmentView
  calcomAppointment?: AppointmentView
}

export interface DemoStep {
  key: string
  title: string
  run(context: DemoContext, state: DemoState): Promise<void>
}

export const sameInstant = (a: string, b: string) => Date.parse(a) === Date.parse(b)

export function requireState<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new DemoError(`${what} is missing: an earlier step did not run`)
  return value
}

/** Waits until Cal.com reflects the appointment's newest version (the sync worker reported success). */
export function waitForSynced(
  context: DemoContext,
  id: string,
  what: string,
  options: { failedIsFinal: boolean } = { failedIsFinal: true },
): Promise<SyncStatusView> {
  return pollFor(
    `${what}: sync status "synced" for the newest version of ${id}`,
    async () => {
      const status = await context.appointments.syncStatus(id)
      if (options.failedIsFinal && status.status === 'failed') {
        throw new DemoError(`${what}: the sync of ${id} failed (${status.errorCode}); see the review dashboard`)
      }
      return status.status === 'synced' && status.syncedVersion === status.version ? status : undefined
    },
    context.config.waitMs,
  )
}

/** Waits for Cal.com's webhook about `uid` to be answered by the gateway (or to fail), and returns it. */
export function waitForDelivery(context: DemoContext, uid: string, trigger: string) {
  return pollFor(
    `Cal.com's ${trigger} webhook for ${uid} to be answered`,
    async () =>
      (await context.sandbox.webhooks()).find(
        (candidate) =>
          candidate.bookingUid === uid &&
          candidate.trigger === trigger &&
          (candidate.status !== null || candidate.error !== null),
      ),
    context.config.waitMs,
  )
}
