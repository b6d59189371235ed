import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findFreePort } from '@calsync/local-infra'
import { describe, expect, it } from 'vitest'
import { loadTenantsWithTokens } from '../scripts/lib/tenants-with-tokens.ts'
import { eventually } from './support/infra.ts'
import { accepts, listeningAddresses, otherAddress } from './support/listen-addresses.ts'
import { type Scrape, scrapeUrl } from './support/prometheus.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const DEMO_ADMIN_TOKEN = 'calsync-demo-admin-token'
const SERVICE_NAMES = ['webhook-gateway', 'appointments', 'calcom-sync', 'review', 'calcom-sandbox']

/** Every process descended from `pid` (tethered children run in process groups of their own). */
function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number])
  const found: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    const parent = queue.shift()
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        found.push(child)
        queue.push(child)
      }
    }
  }
  return found
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Runs a command at the repository root, collecting stdout and stderr in one string. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, detached = false) {
  const child = spawn(command, args, { cwd: root, env, detached, stdio: ['ignore', 'pipe', 'pipe'] })
  const collected = { output: '', stdout: '' }
  child.stdout.on('data', (chunk) => {
    collected.output += chunk
    collected.stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    collected.output += chunk
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, collected, exited }
}

/** The JSON lines of a stack's stdout (a pipe, so `npm start` writes JSON), each with its `service`. */
function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

const sampleValue = (scrape: Scrape, name: string, labels: Record<string, string> = {}) =>
  scrape.value(name, labels) ?? 0

describe('npm start', () => {
  it('brings up the stack, prints the URLs, runs `npm run demo` through every step, and Ctrl-C stops everything', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'calsync-start-'))
    const ports = {
      GATEWAY_PORT: await findFreePort(),
      APPOINTMENTS_PORT: await findFreePort(),
      CALCOM_SYNC_PORT: await findFreePort(),
      REVIEW_PORT: await findFreePort(),
      CALCOM_SANDBOX_PORT: await findFreePort(),
      CALSYNC_LOCAL_NATS_PORT: await findFreePort(),
      CALSYNC_LOCAL_MONGO_PORT: await findFreePort(),
    }
    const {
      NATS_URL: _nats,
      MONGO_URL: _mongo,
      CALSYNC_TENANTS: _tenants,
      CALCOM_API_URL: _calcom,
      CALSYNC_ADMIN_TOKEN: _admin,
      CALSYNC_LOG_FORMAT: _format,
      HOST: _host,
      ...inherited
    } = process.env
    // Short retries, so the demo's outage step waits about a second rather than 36.
    const backoff = '100ms,200ms,300ms'
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      CALSYNC_DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      CALSYNC_SYNC_BACKOFF: backoff,
    }
    for (const [name, port] of Object.entries(ports)) env[name] = String(port)
    const urls = {
      gateway: `http://127.0.0.1:${ports.GATEWAY_PORT}`,
      appointments: `http://127.0.0.1:${ports.APPOINTMENTS_PORT}`,
      sync: `http://127.0.0.1:${ports.CALCOM_SYNC_PORT}`,
      review: `http://127.0.0.1:${ports.REVIEW_PORT}`,
      sandbox: `http://127.0.0.1:${ports.CALCOM_SANDBOX_PORT}`,
    }

    // Its own process group, like a shell job: Ctrl-C is a SIGINT to the whole group.
    const stack = run('npm', ['start'], env, true)
    let demo: ReturnType<typeof run> | undefined
    const npmPid = stack.child.pid as number
    try {
      await until('"calsync is ready"', () => stack.collected.stdout.includes('"msg":"calsync is ready"'), 120_000)
      for (const [name, url] of Object.entries(urls)) {
        const response = await fetch(`${url}/readyz`)
        expect(response.status, `${name} /readyz`).toBe(200)
        if (name !== 'sandbox') expect(response.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/)
      }
      // HOST is unset: every HTTP port is bound to loopback only, out of reach of the network.
      const other = otherAddress()
      for (const variable of [
        'GATEWAY_PORT',
        'APPOINTMENTS_PORT',
        'CALCOM_SYNC_PORT',
        'REVIEW_PORT',
        'CALCOM_SANDBOX_PORT',
      ]) {
        const port = ports[variable as keyof typeof ports]
        expect(listeningAddresses(port), `${variable} listening sockets`).toEqual(['127.0.0.1'])
        if (other) expect(await accepts(other, port), `${variable} on ${other}`).toBe(false)
      }
      expect(stack.collected.output).toMatch(/nats-server: v2\.\d+\.\d+/)
      for (const tenant of ['acme-dental', 'bright-smiles']) {
        expect(stack.collected.stdout).toContain(`http://localhost:${ports.GATEWAY_PORT}/webhooks/calcom/${tenant}`)
      }
      expect(stack.collected.stdout).toContain(`http://localhost:${ports.APPOINTMENTS_PORT}/v1/appointments`)
      expect(stack.collected.stdout).toContain(`http://localhost:${ports.REVIEW_PORT}/`)
      expect(stack.collected.stdout).toContain(`http://localhost:${ports.CALCOM_SANDBOX_PORT}/v2/bookings`)
      const example = jsonLines(stack.collected.stdout).find((line) => line.msg === 'example request')
      expect(example?.command).toMatch(/^curl -X POST .* -H 'Authorization: Bearer acme-phone-demo-token-0001'/s)

      const processes = descendants(npmPid)
      // npm, the provisioner, the stack runner, 2 servers, 4 services and the sandbox (each behind a tether).
      expect(processes.length).toBeGreaterThanOrEqual(10)

      const scrapeAll = async () => ({
        gateway: await scrapeUrl(urls.gateway),
        appointments: await scrapeUrl(urls.appointments),
        sync: await scrapeUrl(urls.sync),
        review: await scrapeUrl(urls.review),
      })
      const before = await scrapeAll()

      demo = run(
        'npm',
        ['run', 'demo'],
        {
          ...inherited,
          CALSYNC_GATEWAY_URL: urls.gateway,
          CALSYNC_APPOINTMENTS_URL: urls.appointments,
          CALSYNC_REVIEW_URL: urls.review,
          CALCOM_SANDBOX_URL: urls.sandbox,
          CALSYNC_SYNC_BACKOFF: backoff,
        },
        true,
      )
      const demoRun = demo
      const demoExit = await Promise.race([
        demoRun.exited,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 120_000)),
      ])
      expect(demoExit, `npm run demo finished within 120 s:\n${demoRun.collected.output}`).toBeDefined()
      expect(demoExit?.code, demoRun.collected.output).toBe(0)
      for (const step of ['a', 'b', 'c', 'd', 'e']) expect(demoRun.collected.stdout).toContain(`✓ ${step} held`)
      expect(demoRun.collected.stdout).toContain('all 5 steps held')
      expect(demoRun.collected.stdout).toMatch(/x-trace-id [0-9a-f]{32}/)

      // A webhook without a signature, so the gateway's rejections have something to count.
      const unsigned = await fetch(`${urls.gateway}/webhooks/calcom/acme-dental`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ triggerEvent: 'BOOKING_CREATED', createdAt: new Date().toISOString(), payload: {} }),
      })
      expect(unsigned.status).toBe(401)

      const after = await scrapeAll()
      const moved = (service: keyof typeof after, name: string, labels: Record<string, string> = {}) =>
        expect(
          sampleValue(after[service], name, labels),
          `${service} ${name}${JSON.stringify(labels)} moved during the demo`,
        ).toBeGreaterThan(sampleValue(before[service], name, labels))
      for (const trigger of ['BOOKING_CREATED', 'BOOKING_RESCHEDULED', 'BOOKING_CANCELLED']) {
        moved('gateway', 'calsync_webhooks_received_total', { tenant: 'acme-dental', trigger })
      }
      moved('gateway', 'calsync_webhooks_rejected_total')
      moved('appointments', 'calsync_events_published_total', { type: 'appointment.booked', origin: 'retell' })
      moved('appointments', 'calsync_events_published_total', { type: 'appointment.booked', origin: 'calcom' })
      moved('appointments', 'calsync_events_published_total', { type: 'appointment.rescheduled' })
      moved('appointments', 'calsync_events_published_total', { type: 'appointment.cancelled' })
      moved('appointments', 'calsync_calcom_webhooks_processed_total', { result: 'applied' })
      moved('appointments', 'calsync_calcom_webhooks_processed_total', { result: 'echo' })
      moved('sync', 'calsync_sync_attempts_total', { outcome: 'succeeded' })
      moved('sync', 'calsync_sync_attempts_total', { outcome: 'skipped' })
      moved('sync', 'calsync_sync_attempts_total', { outcome: 'retrying', error_code: 'calcom_server_error' })
      moved('sync', 'calsync_sync_attempts_total', { outcome: 'failed', error_code: 'calcom_server_error' })
      moved('sync', 'calsync_sync_latency_seconds_count')
      // A gauge: the demo's sync_failed item was opened and resolved again, so the queue is back to 0.
      expect(after.review.value('calsync_review_items_open', { kind: 'sync_failed' })).toBe(0)

      const consumers = {
        appointments: [urls.appointments, ['appointments-webhooks', 'appointments-sync-results']],
        sync: [urls.sync, ['calcom-sync']],
        review: [urls.review, ['review', 'review-sync-results']],
      } as const
      for (const [service, [url, durables]] of Object.entries(consumers)) {
        // Every consumer reports its backlog, and the demo's messages have all been handled.
        await eventually(`${service} consumers to report an empty backlog`, async () => {
          const scrape = await scrapeUrl(url)
          const idle = durables.every(
            (consumer) =>
              scrape.value('calsync_consumer_pending', { consumer }) === 0 &&
              scrape.value('calsync_consumer_ack_pending', { consumer }) === 0,
          )
          return idle ? true : undefined
        })
      }

      process.kill(-npmPid, 'SIGINT')
      const stopped = await Promise.race([
        stack.exited,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000)),
      ])
      expect(stopped, 'stack stopped within 10 s of SIGINT').toEqual({ code: 0, signal: null })
      await until('every child process to be gone', () => processes.every((pid) => !alive(pid)), 2000)

      const lines = jsonLines(stack.collected.stdout)
      expect(lines.at(-1)).toMatchObject({ service: 'calsync', msg: 'stopped' })
      const services = new Set(lines.map((line) => line.service))
      for (const name of [...SERVICE_NAMES, 'calsync']) expect(services, `log lines of ${name}`).toContain(name)
      expect(lines.every((line) => typeof line.service === 'string')).toBe(true)
      // The services never log a secret of the demo tenants (the runner prints only the demo token and admin token).
      const tenants = await loadTenantsWithTokens(join(root, 'config/demo-tenants.yaml'), {})
      const secrets = [
        DEMO_ADMIN_TOKEN,
        ...tenants.flatMap((tenant) => [
          tenant.calcom.apiKey,
          tenant.calcom.webhookSecret,
          ...tenant.tokens.flatMap((entry) => entry.token ?? []),
        ]),
      ]
      const serviceText = lines
        .filter((line) => line.service !== 'calsync')
        .map((line) => JSON.stringify(line))
        .join('\n')
      for (const secret of secrets) expect(serviceText.includes(secret), 'a demo secret in service logs').toBe(false)
    } finally {
      if (process.env.CALSYNC_TEST_VERBOSE) {
        process.stdout.write(stack.collected.output)
        if (demo) process.stdout.write(demo.collected.output)
      }
      for (const child of [stack.child, demo?.child] as Array<ChildProcess | undefined>) {
        if (child?.pid && child.exitCode === null && alive(child.pid)) process.kill(-child.pid, 'SIGKILL')
      }
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 240_000)
})
