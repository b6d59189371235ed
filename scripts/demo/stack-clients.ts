// Thin clients for the running stack: calsync's appointments and review APIs, the Cal.com API as
// a Cal.com user calls it (the sandbox serves it), and the sandbox's control API.

import type { Booking, FaultAction, FaultMatch, QueuedFault, WebhookDelivery } from '@calsync/calcom-sandbox'
import { parsePrometheusText } from '../lib/prometheus-text.ts'
import type { DemoConfig } from './demo-config.ts'
import { expectStatus, requestJson } from './http-json.ts'

/** The bookings API version Cal.com's v2 endpoints require. */
const CAL_API_VERSION = '2024-08-13'

export interface AppointmentView {
  id: string
  tenantId: string
  eventTypeId: number
  resource: string
  start: string
  end: string
  status: 'booked' | 'cancelled'
  origin: string
  version: number
  calcomBookingUid: string | null
  sync: { status: string; attempts: number; errorCode: string | null; requiresManualReview: boolean }
}

export interface SyncStatusView {
  status: string
  attempts: number
  errorCode: string | null
  requiresManualReview: boolean
  calcomBookingUid: string | null
  version: number
  /** The appointment version Cal.com reflects; equal to `version` once the newest change is synced. */
  syncedVersion: number | null
}

export interface ReviewItemView {
  id: string
  tenantId: string
  kind: string
  appointmentIds: string[]
  errorCode: string | null
  attempts: number
  status: 'open' | 'resolved'
  note: string | null
  retry: { outcome: string } | null
}

export interface NewAppointment {
  eventTypeId: number
  start: string
  attendee: { name: string; email: string; timeZone: string; phoneNumber?: string }
  notes?: string
}

export function appointmentsClient(config: DemoConfig, token: string) {
  const url = (path: string) => `${config.appointmentsUrl}${path}`
  return {
    async create(body: NewAppointment): Promise<{ appointment: AppointmentView; traceId: string | null }> {
      const answer = await requestJson<AppointmentView>('POST', url('/v1/appointments'), { token, body })
      return {
        appointment: expectStatus(answer, 201, 'POST /v1/appointments'),
        traceId: answer.headers.get('x-trace-id'),
      }
    },
    async get(id: string): Promise<AppointmentView> {
      return expectStatus(
        await requestJson<AppointmentView>('GET', url(`/v1/appointments/${id}`), { token }),
        200,
        `GET appointment ${id}`,
      )
    },
    async syncStatus(id: string): Promise<SyncStatusView> {
      return expectStatus(
        await requestJson<SyncStatusView>('GET', url(`/v1/appointments/${id}/sync-status`), { token }),
        200,
        `sync status of ${id}`,
      )
    },
    async cancel(id: string, reason: string): Promise<AppointmentView> {
      const answer = await requestJson<AppointmentView>('POST', url(`/v1/appointments/${id}/cancel`), {
        token,
        body: { reason },
      })
      return expectStatus(answer, 200, `cancel appointment ${id}`)
    },
    async reschedule(id: string, start: string): Promise<AppointmentView> {
      const answer = await requestJson<AppointmentView>('POST', url(`/v1/appointments/${id}/reschedule`), {
        token,
        body: { start },
      })
      return expectStatus(answer, 200, `reschedule appointment ${id}`)
    },
    /** Every appointment whose start lies in [from, to), following the cursor. */
    async list(query: { from: string; to: string; status?: string }): Promise<AppointmentView[]> {
      const found: AppointmentView[] = []
      let cursor: string | null = null
      do {
        const params = new URLSearchParams({ ...query, limit: '200', ...(cursor ? { cursor } : {}) })
        const page = expectStatus(
          await requestJson<{ items: AppointmentView[]; nextCursor: string | null }>(
            'GET',
            url(`/v1/appointments?${params}`),
            { token },
          ),
          200,
          'GET /v1/appointments',
        )
        found.push(...page.items)
        cursor = page.nextCursor
      } while (cursor)
      return found
    },
  }
}

export function reviewClient(config: DemoConfig) {
  const url = (path: string) => `${config.reviewUrl}${path}`
  const token = config.adminToken
  return {
    async openItems(kind: string): Promise<ReviewItemView[]> {
      const answer = await requestJson<{ items: ReviewItemView[] }>(
        'GET',
        url(`/v1/review-items?status=open&kind=${kind}&limit=200`),
        { token },
      )
      return expectStatus(answer, 200, 'GET /v1/review-items (with CALSYNC_ADMIN_TOKEN)').items
    },
    async item(id: string): Promise<ReviewItemView> {
      return expectStatus(
        await requestJson<ReviewItemView>('GET', url(`/v1/review-items/${id}`), { token }),
        200,
        `review item ${id}`,
      )
    },
    async retry(id: string): Promise<{ item: ReviewItemView; dispatched: boolean }> {
      return expectStatus(
        await requestJson<{ item: ReviewItemView; dispatched: boolean }>('POST', url(`/v1/review-items/${id}/retry`), {
          token,
        }),
        200,
        `retry of review item ${id}`,
      )
    },
  }
}

/** The Cal.com API v2 as a Cal.com user's integration calls it, with the tenant's API key. */
export function calcomClient(config: DemoConfig, apiKey: string) {
  const call = (method: string, path: string, body: unknown) =>
    requestJson<{ data: Booking }>(method, `${config.sandboxUrl}${path}`, {
      token: apiKey,
      body,
      headers: { 'cal-api-version': CAL_API_VERSION },
    })
  return {
    async book(body: { eventTypeId: number; start: string; attendee: NewAppointment['attendee'] }): Promise<Booking> {
      return expectStatus(await call('POST', '/v2/bookings', body), 201, 'Cal.com POST /v2/bookings').data
    },
    async reschedule(uid: string, start: string): Promise<Booking> {
      const answer = await call('POST', `/v2/bookings/${uid}/reschedule`, {
        start,
        reschedulingReason: 'calsync demo: moved on Cal.com',
      })
      return expectStatus(answer, 201, `Cal.com reschedule of ${uid}`).data
    },
    async cancel(uid: string): Promise<Booking> {
      const answer = await call('POST', `/v2/bookings/${uid}/cancel`, { cancellationReason: 'calsync demo' })
      return expectStatus(answer, 200, `Cal.com cancel of ${uid}`).data
    },
  }
}

/** The sandbox's test-only control API: what Cal.com holds, what it sent, and injected faults. */
export function sandboxControl(config: DemoConfig) {
  const url = (path: string) => `${config.sandboxUrl}/_sandbox${path}`
  return {
    bookingsUrl: (tenantId: string) => url(`/bookings?tenantId=${tenantId}`),
    webhooksUrl: url('/webhooks'),
    async bookings(tenantId: string): Promise<Booking[]> {
      return expectStatus(
        await requestJson<Booking[]>('GET', url(`/bookings?tenantId=${tenantId}`)),
        200,
        'sandbox bookings',
      )
    },
    async webhooks(): Promise<WebhookDelivery[]> {
      return expectStatus(await requestJson<WebhookDelivery[]>('GET', url('/webhooks')), 200, 'sandbox webhook log')
    },
    async addFault(match: FaultMatch, action: FaultAction, times: number): Promise<void> {
      expectStatus(await requestJson('POST', url('/faults'), { body: { match, action, times } }), 201, 'sandbox fault')
    },
    async faults(): Promise<QueuedFault[]> {
      return expectStatus(await requestJson<QueuedFault[]>('GET', url('/faults')), 200, 'sandbox faults')
    },
    /** Lifts the tenant's queued faults; answers how many there were. */
    async clearFaults(tenantId: string): Promise<number> {
      const answer = await requestJson<{ cleared: number }>('DELETE', url(`/faults?tenantId=${tenantId}`))
      return expectStatus(answer, 200, 'sandbox fault clearing').cleared
    },
  }
}

/** The sum of a Prometheus series over the labels given, or undefined when /metrics is not served. */
export async function readCounter(
  baseUrl: string,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  // A stack whose /metrics wants CALSYNC_METRICS_TOKEN is read with the same variable.
  const token = process.env.CALSYNC_METRICS_TOKEN
  const headers = { accept: 'text/plain', ...(token ? { authorization: `Bearer ${token}` } : {}) }
  const answer = await requestJson<string>('GET', `${baseUrl}/metrics`, { headers })
  if (answer.status !== 200 || typeof answer.body !== 'string') return undefined
  return parsePrometheusText(answer.body).value(name, labels) ?? 0
}
