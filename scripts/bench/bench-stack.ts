// The stack the database sections of the benchmark measure: one process per service (gateway,
// appointments, calcom-sync) and the Cal.com sandbox, over the run's NATS and database, as
// `npm start` runs them. Review is not started: nothing here reads it.
import { type FleetEnv, type Instance, startInstance } from '../chaos/fleet.ts'
import { parsePrometheusText } from '../lib/prometheus-text.ts'
import type { RunTenant } from '../lib/run-tenants.ts'
import { findService, type ServiceEntry } from '../services.ts'

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
