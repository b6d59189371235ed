import { CALSYNC_METADATA, type SyncAction, type SyncResult } from '@calsync/contracts'
import { afterAll, beforeAll, expect } from 'vitest'
import { bookingWebhook } from '../../../../test/support/calcom-webhooks.ts'
import { eventually } from '../../../../test/support/infra.ts'
import { ACME, futureSlot, TEST_SECRETS } from '../../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './harness.ts'

export const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
export const PHONE = TEST_SECRETS.ACME_PHONE_TOKEN
export const attendee = { name: 'Dana Reyes', email: 'dana@example.org', timeZone: 'Europe/Berlin' }

export interface AppointmentJson {
  id: string
  resource: string
  start: string
  end: string
  status: 'booked' | 'cancelled'
  origin: string
  version: number
  calcomBookingUid: string | null
  sync: { status: string; attempts: number; requiresManualReview: boolean }
}

/** The calls a scenario makes against one appointments harness, as a local channel and as Cal.com. */
export function scenario(h: AppointmentsHarness) {
  const get = async (id: string): Promise<AppointmentJson> =>
    (await h.api(ADMIN, 'GET', `/v1/appointments/${id}`)).json()

  return {
    get,

    async create(start: string, eventTypeId = 1001, headers: Record<string, string> = {}) {
      return h.api(ADMIN, 'POST', '/v1/appointments', { eventTypeId, start, attendee }, headers)
    },

    async createOk(start: string, eventTypeId = 1001): Promise<AppointmentJson> {
      const response = await h.api(ADMIN, 'POST', '/v1/appointments', { eventTypeId, start, attendee })
      expect(response.statusCode, response.body).toBe(201)
      return response.json()
    },

    reschedule: (id: string, start: string) => h.api(ADMIN, 'POST', `/v1/appointments/${id}/reschedule`, { start }),
    cancel: (id: string) => h.api(ADMIN, 'POST', `/v1/appointments/${id}/cancel`, {}),

    /** Cal.com's webhook for a booking change; `forAppointment` adds the metadata calsync puts on its bookings. */
    webhook(
      trigger: 'BOOKING_CREATED' | 'BOOKING_RESCHEDULED' | 'BOOKING_CANCELLED',
      fixture: {
        uid: string
        start: string
        rescheduleUid?: string
        eventTypeId?: number
        forAppointment?: string
        attendeeEmail?: string
      },
    ) {
      return h.deliverWebhook(
        ACME,
        bookingWebhook(trigger, {
          uid: fixture.uid,
          start: fixture.start,
          eventTypeId: fixture.eventTypeId ?? 1001,
          ...(fixture.rescheduleUid ? { rescheduleUid: fixture.rescheduleUid } : {}),
          ...(fixture.forAppointment && trigger !== 'BOOKING_CANCELLED'
            ? {
                metadata: {
                  [CALSYNC_METADATA.appointmentId]: fixture.forAppointment,
                  [CALSYNC_METADATA.tenantId]: ACME,
                },
                attendeeEmail: fixture.attendeeEmail ?? attendee.email,
              }
            : {}),
        }),
      )
    },

    /** What calcom-sync reports after bringing Cal.com to `version` of the appointment. */
    succeeded(
      appointmentId: string,
      version: number,
      fact: { action: SyncAction; uid: string | null; previous?: string | null; start?: string; attempt?: number },
    ) {
      const result: SyncResult = {
        type: 'sync.succeeded',
        tenantId: ACME,
        appointmentId,
        version,
        attempt: fact.attempt ?? 1,
        at: new Date().toISOString(),
        eventId: `${appointmentId}:v${version}`,
        calcomBookingUid: fact.uid,
        action: fact.action,
        previousBookingUid: fact.previous ?? null,
        ...(fact.start ? { start: fact.start } : {}),
      }
      return h.publishSyncResult(result)
    },

    attemptFailed(appointmentId: string, version: number, attempt: number) {
      return h.publishSyncResult({
        type: 'sync.attempt_failed',
        tenantId: ACME,
        appointmentId,
        version,
        attempt,
        at: new Date().toISOString(),
        eventId: `${appointmentId}:v${version}`,
        errorCode: 'calcom_server_error',
        errorMessage: 'Cal.com answered 503',
      })
    },

    /** Until every message is handled and every event published. */
    async settle() {
      await eventually('the consumers to drain', async () => ((await h.consumersIdle()) ? true : undefined), 20_000)
      await h.components.relay.runOnce()
    },

    async waitFor(id: string, what: string, test: (appointment: AppointmentJson) => boolean) {
      return eventually(what, async () => {
        const found = await get(id)
        return test(found) ? found : undefined
      })
    },

    async listed(): Promise<AppointmentJson[]> {
      return (await h.api(ADMIN, 'GET', '/v1/appointments?limit=200')).json().items
    },

    /** The appointments of a test day (futureSlot's day number). */
    async onDay(day: number): Promise<AppointmentJson[]> {
      const date = futureSlot(day, 9).slice(0, 10)
      return (await this.listed()).filter((item) => item.start.slice(0, 10) === date)
    },

    async byUid(uid: string): Promise<AppointmentJson | undefined> {
      return (await this.listed()).find((item) => item.calcomBookingUid === uid)
    },

    async reviewsOf(kind: string) {
      return (await h.reviews()).filter((message) => message.body.kind === kind).map((message) => message.body)
    },
  }
}

/**
 * One harness and scenario for the suite it is called in, its webhook waits short and its grace
 * for a booking calsync never saw (decision rows 31–33) as given; `wait` can move a webhook's
 * last chance (by default about 5 s away).
 */
export function useUnseenBookingSuite(graceMs: number, wait: { maxMs?: number; deliveries?: number } = {}) {
  let crashArmed = false
  const suite = {
    crashes: 0,
    /** The next change written stops right after its event insert, as a process killed there would. */
    crashAfterNextEventInsert() {
      crashArmed = true
    },
  } as { h: AppointmentsHarness; s: ReturnType<typeof scenario>; crashes: number; crashAfterNextEventInsert(): void }
  const webhookWait = { initialMs: 20, maxMs: wait.maxMs ?? 200, deliveries: wait.deliveries ?? 30 }
  const afterEventWrite = () => {
    if (!crashArmed) return
    crashArmed = false
    suite.crashes++
    throw new Error('stopped right after the event insert (the test armed it)')
  }
  beforeAll(async () => {
    suite.h = await startAppointmentsHarness({
      components: { unknownRescheduleGraceMs: graceMs, webhookWait, afterEventWrite },
    })
    suite.s = scenario(suite.h)
  })
  afterAll(() => suite.h?.close())
  return suite
}
