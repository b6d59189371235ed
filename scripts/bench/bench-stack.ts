// The stack the database sections of the benchmark measure: one process per service (gateway,
// appointments, calcom-sync) and the Cal.com sandbox, over the run's NATS and database, as
// `npm start` runs them. Review is not started: nothing here reads it.
import type { JetStreamManager } from '@nats-io/jetstream'
import { type FleetEnv, type Instance, startInstance } from '../chaos/fleet.ts'
import { parsePrometheusText } from '../lib/prometheus-text.ts'
import type { RunTenant } from '../lib/run-tenants.ts'
import { findService, type ServiceEntry } from '../services.ts'
import { waitSettled } from './settled.ts'

export interface BenchStack {
  gateway: Instance
  appointments: Instance
  sync: Instance
  sandbox: Instance
  /** `calsync_db_commands_total` of a service now, by `command collection`. */
  dbCommands(instance: Instance): Promise<Map<string, number>>
  stop(): Promise<void>
}

export async function startBenchStack(options: {
  root: string
  runDir: string
  env: NodeJS.ProcessEnv
  /** Per-service env on top (e.g. a calcom-sync budget). */
  perService?: Record<string, NodeJS.ProcessEnv>
}): Promise<BenchStack> {
  const fleet: FleetEnv = { root: options.root, runDir: options.runDir, env: options.env }
  const entry = (name: string) => findService(name) as ServiceEntry
  const own = (name: string) => options.perService?.[name] ?? {}
  const gateway = await startInstance(fleet, entry('webhook-gateway'), 'webhook-gateway', own('webhook-gateway'))
  const sandbox = await startInstance(fleet, entry('calcom-sandbox'), 'calcom-sandbox', {
    CALCOM_SANDBOX_WEBHOOK_URL: `${gateway.url}/webhooks/calcom/{tenantId}`,
    // Cal.com's own limit per API key: a 429 in any section is calsync overrunning it.
    CALCOM_SANDBOX_RATE_LIMIT: '120',
    ...own('calcom-sandbox'),
  })
  const appointments = await startInstance(fleet, entry('appointments'), 'appointments', own('appointments'))
  const sync = await startInstance(fleet, entry('calcom-sync'), 'calcom-sync', {
    CALCOM_API_URL: sandbox.url,
    ...own('calcom-sync'),
  })
  return {
    gateway,
    appointments,
    sync,
    sandbox,
    async dbCommands(instance) {
      const scrape = parsePrometheusText(await (await fetch(`${instance.url}/metrics`)).text())
      const counts = new Map<string, number>()
      for (const sample of scrape.samples) {
        if (sample.name !== 'calsync_db_commands_total') continue
        const key = `${sample.labels.command} ${sample.labels.collection || '-'}`
        counts.set(key, (counts.get(key) ?? 0) + sample.value)
      }
      return counts
    },
    async stop() {
      await gateway.stop()
      await Promise.all([appointments.stop(), sync.stop()])
      await sandbox.stop()
    },
  }
}

/** `after - before`, per key, without the keys that did not change. */
export function difference(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const changed = new Map<string, number>()
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0)
    if (delta !== 0) changed.set(key, delta)
  }
  return changed
}

export const total = (counts: Map<string, number>) => [...counts.values()].reduce((sum, value) => sum + value, 0)

/** The tenant's API calls the way its clients make them. */
export function tenantApi(stack: BenchStack, tenant: RunTenant) {
  return async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.appointments.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tenant.tokens.admin}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: response.status, json: (await response.json()) as Record<string, unknown> }
  }
}

/** A customer booking on Cal.com (the sandbox): its webhook reaches the gateway. */
export async function customerBooking(stack: BenchStack, tenant: RunTenant, start: string, eventTypeId: number) {
  const response = await fetch(`${stack.sandbox.url}/v2/bookings`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${tenant.apiKey}`,
      'cal-api-version': '2024-08-13',
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      start,
      eventTypeId,
      attendee: { name: 'Bench Customer', email: 'customer@example.org', timeZone: 'UTC' },
    }),
  })
  if (response.status !== 201) throw new Error(`sandbox booking answered ${response.status}: ${await response.text()}`)
  return ((await response.json()) as { data: { uid: string } }).data.uid
}

/** A control call to the sandbox (`/_sandbox/...`: hold or release webhooks, say). */
export async function sandboxControl(stack: BenchStack, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${stack.sandbox.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`sandbox ${path} answered ${response.status}: ${await response.text()}`)
  await response.body?.cancel()
}

/**
 * The slots a section books: the `index`th change on day `day + offsetDays` after 2031-01-01,
 * one hour apart per round over the tenants, so no two changes of a section meet.
 */
export function benchSlots(tenants: RunTenant[], day: number) {
  return (index: number, offsetDays: number) =>
    new Date(Date.UTC(2031, 0, 1 + day + offsetDays, 8) + Math.floor(index / tenants.length) * 60 * 60_000)
      .toISOString()
      .replace('.000Z', 'Z')
}

/** A patient's booking through the API on the tenant's first event type, as its clients make one. */
export function patientCreate(stack: BenchStack, tenant: RunTenant, start: string, index: number) {
  return tenantApi(stack, tenant)('POST', '/v1/appointments', {
    eventTypeId: (tenant.eventTypes[0] as RunTenant['eventTypes'][number]).id,
    start,
    attendee: { name: 'Bench Patient', email: `patient-${index}@example.org`, timeZone: 'UTC' },
  })
}

/** A customer's booking on Cal.com on the tenant's second event type (its webhook reaches the gateway). */
export const customerBookingOf = (stack: BenchStack, tenant: RunTenant, start: string) =>
  customerBooking(stack, tenant, start, (tenant.eventTypes[1] as RunTenant['eventTypes'][number]).id)

/**
 * `count` customer bookings whose webhooks the sandbox holds, then releases at once: what
 * reaches the appointments service is a backlog. Seconds from the release until it is applied.
 */
export async function heldWebhookBurst(
  stack: BenchStack,
  jsm: JetStreamManager,
  tenants: RunTenant[],
  count: number,
  slot: (index: number) => string,
): Promise<number> {
  await sandboxControl(stack, '/_sandbox/webhooks/hold', {})
  for (let index = 0; index < count; index++) {
    await customerBookingOf(stack, tenants[index % tenants.length] as RunTenant, slot(index))
  }
  const released = Date.now()
  await sandboxControl(stack, '/_sandbox/webhooks/release', {})
  return ((await waitSettled(jsm, stack.sandbox.url)) - released) / 1000
}
