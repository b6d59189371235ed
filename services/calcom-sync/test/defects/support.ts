import { type AppointmentEvent, CALSYNC_METADATA, consumerDefinitions, type SyncResult } from '@calsync/contracts'
import { afterEach } from 'vitest'
import { eventually } from '../../../../test/support/infra.ts'
import { fileLogger } from '../../../../test/support/logs.ts'
import type { Stack } from '../../../../test/support/stack.ts'
import { readStream } from '../../../../test/support/streams.ts'
import { TEST_SECRETS } from '../../../../test/support/tenants.ts'
import type { ReviewHarness } from '../../../review/test/support/review-harness.ts'
import { type ComponentDeps, type Components, startComponents } from '../../src/wiring.ts'

export const ACME = 'acme-dental'
export const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
export const attendee = { name: 'Noor Haddad', email: 'noor@example.org', timeZone: 'UTC' }

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Fields the rewritten calcom-sync honours and today's ignores (`leaseTtlMs`); the others are
 * today's ComponentDeps with their new meaning (`tenantCallsPerMinute` is per API key, all instances).
 */
export type SyncOverrides = Partial<ComponentDeps> & { leaseTtlMs?: number }

/** Another calcom-sync in this process: same database, same durable consumer, its own lease owner. */
export async function startSyncInstance(s: Stack, name: string, overrides: SyncOverrides = {}): Promise<Components> {
  const deps = { ...s.syncOptions, logger: fileLogger(`calcom-sync-${name}`), ...overrides }
  return startComponents(deps)
}

// ---- Cal.com as the customer and the sandbox see it -------------------------------------------

/** A call to the sandbox's Cal.com API with acme's key: what a customer (or Cal.com's UI) does. */
export async function customer<T = Record<string, unknown>>(
  s: Stack,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${s.sandboxUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TEST_SECRETS.ACME_CALCOM_API_KEY}`,
      'cal-api-version': '2024-08-13',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const json = (await response.json()) as { data: T }
  if (!response.ok) throw new Error(`sandbox ${method} ${path} answered ${response.status}: ${JSON.stringify(json)}`)
  return json.data
}

export const customerBooks = (s: Stack, start: string, who = attendee) =>
  customer<{ uid: string }>(s, 'POST', '/v2/bookings', { start, eventTypeId: 1001, attendee: who })

export const customerMoves = (s: Stack, uid: string, start: string) =>
  customer<{ uid: string }>(s, 'POST', `/v2/bookings/${uid}/reschedule`, {
    start,
    reschedulingReason: 'customer moved it',
  })

export const customerCancels = (s: Stack, uid: string) =>
  customer(s, 'POST', `/v2/bookings/${uid}/cancel`, { cancellationReason: 'customer cancelled' })

/** Stops (or restores) the sandbox's webhooks to the gateway for acme: Cal.com changes calsync does not hear of. */
export function acmeWebhooks(s: Stack, on: boolean): void {
  s.sandbox.setWebhookUrl(ACME, on ? `${s.gatewayUrl}/webhooks/calcom/${ACME}` : undefined)
}

/** The Cal.com bookings calsync made for an appointment (its metadata travels across reschedules). */
export const bookingsOf = (s: Stack, appointmentId: string) =>
  s.sandbox.bookings(ACME).filter((booking) => booking.metadata[CALSYNC_METADATA.appointmentId] === appointmentId)

export const accepted = <T extends { status: string }>(bookings: T[]) =>
  bookings.filter((booking) => booking.status === 'accepted')

/** "uid@start status" for readable failure messages. */
export const describeBookings = (bookings: Array<{ uid: string; start: string; status: string }>) =>
  bookings.map((booking) => `${booking.uid}@${booking.start} ${booking.status}`)

/** Create calls (POST /v2/bookings, nothing under it). */
export const createRequests = (s: Stack) =>
  s.sandbox.requests().filter((request) => request.method === 'POST' && request.path === '/v2/bookings')

/** Every write (create, reschedule, cancel) the sandbox saw, oldest first. */
export const writeRequests = (s: Stack) => s.sandbox.requests().filter((request) => request.method === 'POST')

export const CREATE_PATH = '^/v2/bookings$'
export const RESCHEDULE_PATH = '^/v2/bookings/[^/?]+/reschedule$'
export const GET_ONE_PATH = '^/v2/bookings/[^/?]+$'

// ---- the appointments service ------------------------------------------------------------------

export async function createAppointment(s: Stack, start: string, who = attendee): Promise<{ id: string }> {
  const response = await s.appointments.api(ADMIN, 'POST', '/v1/appointments', {
    eventTypeId: 1001,
    start,
    attendee: who,
  })
  if (response.statusCode !== 201) throw new Error(`create answered ${response.statusCode}: ${response.body}`)
  return response.json()
}

export async function staff(s: Stack, id: string, action: 'reschedule' | 'cancel', start?: string) {
  const body = action === 'cancel' ? { reason: 'staff' } : { start }
  const response = await s.appointments.api(ADMIN, 'POST', `/v1/appointments/${id}/${action}`, body)
  if (response.statusCode !== 200) throw new Error(`${action} answered ${response.statusCode}: ${response.body}`)
  return response.json()
}

export interface SyncStatusView {
  status: string
  version: number
  syncedVersion: number | null
  calcomBookingUid: string | null
  errorCode: string | null
  attempts: number
}

export const syncStatus = async (s: Stack, id: string): Promise<SyncStatusView> =>
  (await s.appointments.api(ADMIN, 'GET', `/v1/appointments/${id}/sync-status`)).json()

/**
 * Where each listed appointment's sync stands, from one list request (lighter than a sync-status
 * call per appointment): "<id> v<version> <status>", for the appointments of `ids` only.
 */
export async function syncStatesOf(s: Stack, ids: readonly string[]): Promise<Map<string, string>> {
  const wanted = new Set(ids)
  const states = new Map<string, string>()
  let cursor: string | null = null
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
    const page = (await s.appointments.api(ADMIN, 'GET', `/v1/appointments?limit=200${query}`)).json() as {
      items: Array<{ id: string; version: number; sync: { status: string } }>
      nextCursor: string | null
    }
    for (const item of page.items) if (wanted.has(item.id)) states.set(item.id, item.sync.status)
    cursor = page.nextCursor
  } while (cursor)
  return states
}

/** Waits for the appointment's version to reach an end (synced, failed, conflict) and answers it. */
export async function untilHandled(s: Stack, id: string, version: number, timeoutMs = 20_000) {
  let last: SyncStatusView | undefined
  return eventually(
    `appointment ${id} v${version} to be synced or failed`,
    async () => {
      last = await syncStatus(s, id)
      const ofVersion = last.version === version && last.syncedVersion === version
      return ofVersion && ['synced', 'failed', 'conflict'].includes(last.status) ? last : undefined
    },
    timeoutMs,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last status ${JSON.stringify(last)}`)
  })
}

/** Waits for the appointment's version to be synced; a terminal failure ends the wait at once. */
export async function untilSynced(s: Stack, id: string, version: number, timeoutMs = 20_000) {
  const reached = await untilHandled(s, id, version, timeoutMs)
  if (reached.status !== 'synced') {
    throw new Error(`appointment ${id} v${version} ended ${reached.status}: ${JSON.stringify(reached)}`)
  }
  return reached
}

/** The appointment events of one appointment, oldest first, once `count` are in the stream. */
export async function eventsOf(s: Stack, id: string, count: number): Promise<AppointmentEvent[]> {
  const h = s.appointments
  const found = await eventually(`${count} events of ${id}`, async () => {
    await h.components.relay.runOnce()
    const events = await h.events(id)
    return events.length >= count ? events : undefined
  })
  return found.map((message) => message.body)
}

export { handmadeAppointment, publishEvent } from './handmade-events.ts'

// ---- results and consumers ---------------------------------------------------------------------

/** The sync results calcom-sync published for an appointment, oldest first. */
export async function resultsOf(s: Stack, appointmentId: string): Promise<SyncResult[]> {
  const all = await readStream<SyncResult>(s.appointments.jsm, s.names.streams.sync)
  return all.map((message) => message.body).filter((result) => result.appointmentId === appointmentId)
}

/** Waits for the terminal result (succeeded or failed) of one version and answers it. */
export async function untilResult(s: Stack, appointmentId: string, version: number, timeoutMs = 20_000) {
  return eventually(
    `a terminal sync result for ${appointmentId} v${version}`,
    async () =>
      (await resultsOf(s, appointmentId)).find(
        (result) => result.version === version && result.type !== 'sync.attempt_failed',
      ),
    timeoutMs,
  )
}

export const describeResults = (results: SyncResult[]) =>
  results.map(
    (result) =>
      `v${result.version}#${result.attempt} ${result.type}${'errorCode' in result ? ` ${result.errorCode}` : ''}${
        'calcomBookingUid' in result ? ` ${result.calcomBookingUid}` : ''
      }`,
  )

/**
 * True once calcom-sync's durable has delivered every event in the stream and has none left
 * unacknowledged (nak delays included). A message JetStream gave up on (maxDeliver) counts as
 * settled here: it is no longer pending, though the ack floor stays below it.
 */
export async function syncConsumerIdle(s: Stack): Promise<boolean> {
  const { jsm } = s.appointments
  const { stream, durable } = s.syncOptions.definition
  const lastSeq = (await jsm.streams.info(stream)).state.last_seq
  const info = await jsm.consumers.info(stream, durable)
  return info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= lastSeq
}

/** Waits until calcom-sync has delivered and settled every appointment event (retries waiting included). */
export async function calcomSyncSettled(s: Stack, timeoutMs = 30_000): Promise<void> {
  await eventually(
    'calcom-sync to settle every event',
    async () => ((await syncConsumerIdle(s)) ? true : undefined),
    timeoutMs,
  )
}

/** Waits until calcom-sync, the appointments consumers and the sandbox's webhooks have all settled. */
export async function settled(s: Stack, timeoutMs = 30_000): Promise<void> {
  await eventually(
    'calcom-sync and appointments to settle',
    async () => {
      await s.sandbox.flushWebhooks()
      await s.appointments.components.relay.runOnce()
      return (await syncConsumerIdle(s)) && (await s.appointments.consumersIdle()) ? true : undefined
    },
    timeoutMs,
  )
}

export const calcomSyncDurable = (s: Stack) => consumerDefinitions(s.names).calcomSync.durable

/** What a defect test starts, closed after each test: its extra calcom-sync instances, review, then the stack. */
export function perTest() {
  const held = {
    stack: undefined as Stack | undefined,
    review: undefined as ReviewHarness | undefined,
    instances: [] as Components[],
  }
  afterEach(async () => {
    for (const instance of held.instances.splice(0)) await instance.stop()
    await held.review?.close()
    await held.stack?.close()
    held.review = undefined
    held.stack = undefined
  })
  return held
}
