// The operator conventions of a service run as `npm run service` runs it: where it listens when
// HOST is unset or 0.0.0.0, what a scrape of a fresh process shows, and /metrics moved behind a
// token on a port of its own.
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { findFreePort, spawnTethered } from '@calsync/local-infra'
import { describe, expect, it, onTestFinished } from 'vitest'
import { findService } from '../scripts/services.ts'
import { ZEROED_LABEL_SETS as appointmentsZeroed } from '../services/appointments/src/metrics.ts'
import { zeroedLabelSets as syncZeroed } from '../services/calcom-sync/src/metrics.ts'
import { zeroedLabelSets as gatewayZeroed } from '../services/webhook-gateway/src/metrics.ts'
import { eventually, mongoUrl, natsUrl, uniqueDbName } from './support/infra.ts'
import { accepts, listeningAddresses, otherAddress } from './support/listen-addresses.ts'
import { type Scrape, scrapeUrl } from './support/prometheus.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const DEMO_TENANTS = `${root}config/demo-tenants.yaml`
const DEMO_TENANT_IDS = ['acme-dental', 'bright-smiles']
const METRICS_TOKEN = `metrics-${randomBytes(12).toString('hex')}`

/** Each service's counters whose label sets are known in advance, by metric name. */
const ZEROED: Record<string, Record<string, Array<Record<string, string>>>> = {
  'webhook-gateway': gatewayZeroed(DEMO_TENANT_IDS),
  appointments: appointmentsZeroed,
  'calcom-sync': syncZeroed(DEMO_TENANT_IDS),
  review: {},
}

const keys = new Map<string, string>()
const registryKeys = (namespace: string) => {
  if (!keys.has(namespace)) keys.set(namespace, randomBytes(32).toString('hex'))
  return keys.get(namespace) as string
}

/** One service as `npm run service -- <name>` starts it, with only the env a process manager would give. */
async function startService(name: string, namespace: string, extra: Record<string, string> = {}) {
  const entry = findService(name)
  if (!entry) throw new Error(`no service ${name}`)
  const port = await findFreePort()
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NATS_URL: natsUrl(),
    MONGO_URL: mongoUrl(),
    CALSYNC_NAMESPACE: namespace,
    CALSYNC_TENANTS: DEMO_TENANTS,
    CALSYNC_DB_NAME: uniqueDbName(name.replace(/-/g, '_')),
    LOG_LEVEL: 'info',
    [entry.portVariable]: String(port),
    // Nothing listens there: calcom-sync must never reach the real Cal.com from a test.
    CALCOM_API_URL: `http://127.0.0.1:${await findFreePort()}`,
    CALSYNC_RECONCILE_INTERVAL: '0s',
    // Read by the tenant registry where it is keyed; the same for every service of one namespace.
    CALSYNC_REGISTRY_KEY: registryKeys(namespace),
    ...extra,
  }
  const managed = spawnTethered(name, process.execPath, [`${root}scripts/run.mjs`, 'service', name], {
    env,
    output: 'pipe',
  })
  onTestFinished(() => managed.stop())
  const log = { text: '' }
  managed.child.stdout?.on('data', (chunk) => {
    log.text += chunk
  })
  managed.child.stderr?.on('data', (chunk) => {
    log.text += chunk
  })
  await eventually(
    `${name} to answer /readyz`,
    async () => {
      if (managed.child.exitCode !== null) throw new Error(`${name} exited ${managed.child.exitCode}:\n${log.text}`)
      const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined)
      return response?.ok ? true : undefined
    },
    60_000,
  )
  return { name, port, log }
}

function expectRuntimeSeries(scrape: Scrape, service: string) {
  for (const name of [
    'process_cpu_time_seconds_total',
    'process_memory_usage_bytes',
    'v8js_memory_heap_used_bytes',
    'nodejs_eventloop_time_seconds_total',
    'nodejs_eventloop_utilization_ratio',
  ]) {
    expect(scrape.value(name), `${service} ${name}`).toBeDefined()
  }
  expect(scrape.value('v8js_memory_heap_used_bytes', { v8js_heap_space_name: 'old_space' })).toBeGreaterThan(0)
}

function expectCountersAtZero(scrape: Scrape, service: string) {
  const tables = Object.entries(ZEROED[service] ?? {})
  // review has no counters of its own (its open-items gauge reports every kind already).
  if (service !== 'review') expect(tables.length, service).toBeGreaterThan(0)
  for (const [metric, labelSets] of tables) {
    expect(scrape.types.get(metric), `${service} ${metric}`).toBe('counter')
    expect(labelSets.length).toBeGreaterThan(0)
    for (const labels of labelSets) {
      const exact = scrape.samples.filter(
        (sample) =>
          sample.name === metric &&
          Object.keys(sample.labels).length === Object.keys(labels).length &&
          Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
      )
      expect(
        exact.map((sample) => sample.value),
        `${service} ${metric}${JSON.stringify(labels)}`,
      ).toEqual([0])
    }
  }
}

describe('a service started without HOST', () => {
  it('listens on loopback only, and its first /metrics shows runtime series and every known counter at 0', async () => {
    const namespace = `t${randomBytes(5).toString('hex')}`
    const services = await Promise.all(
      ['webhook-gateway', 'appointments', 'calcom-sync', 'review'].map((name) => startService(name, namespace)),
    )
    const other = otherAddress()
    for (const service of services) {
      // Before any traffic but the readiness probe.
      const scrape = await scrapeUrl(`http://127.0.0.1:${service.port}`)
      expectRuntimeSeries(scrape, service.name)
      expectCountersAtZero(scrape, service.name)

      expect(listeningAddresses(service.port), `${service.name} listening sockets`).toEqual(['127.0.0.1'])
      expect(await accepts('127.0.0.1', service.port)).toBe(true)
      if (other) expect(await accepts(other, service.port), `${service.name} on ${other}`).toBe(false)
    }
  }, 120_000)
})

describe('a service started with HOST=0.0.0.0, CALSYNC_METRICS_PORT and CALSYNC_METRICS_TOKEN', () => {
  it('listens on every interface and serves /metrics only on its metrics port, only with the token', async () => {
    const metricsPort = await findFreePort()
    const gateway = await startService('webhook-gateway', `t${randomBytes(5).toString('hex')}`, {
      HOST: '0.0.0.0',
      CALSYNC_METRICS_PORT: String(metricsPort),
      CALSYNC_METRICS_TOKEN: METRICS_TOKEN,
    })
    expect(listeningAddresses(gateway.port)).toEqual(['0.0.0.0'])
    expect(listeningAddresses(metricsPort)).toEqual(['0.0.0.0'])
    const other = otherAddress()
    if (other) {
      const ready = await fetch(`http://${other}:${gateway.port}/readyz`)
      expect(ready.status).toBe(200)
      expect(await accepts(other, metricsPort)).toBe(true)
    }

    const onServicePort = await fetch(`http://127.0.0.1:${gateway.port}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    })
    expect(onServicePort.status).toBe(404)
    expect(await onServicePort.json()).toMatchObject({ error: 'not_found' })

    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`
    const anonymous = await fetch(metricsUrl)
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toEqual({ error: 'unauthorized', message: expect.any(String) })
    const wrong = await fetch(metricsUrl, { headers: { authorization: 'Bearer not-the-metrics-token' } })
    expect(wrong.status).toBe(401)
    const allowed = await fetch(metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(allowed.status).toBe(200)
    const text = await allowed.text()
    expect(text).toContain('calsync_webhooks_received_total{tenant="acme-dental",trigger="BOOKING_CREATED"} 0')
    expect(text).toContain('process_cpu_time_seconds_total')
    expect(gateway.log.text).not.toContain(METRICS_TOKEN)
  }, 90_000)
})
