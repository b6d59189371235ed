// `npm start`: the whole local stack in the foreground — NATS and FerretDB (unless NATS_URL /
// MONGO_URL are set), then the four services. Ctrl-C stops services first, then the servers.
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { type ManagedProcess, spawnTethered, startFerretDb, startNatsServer, waitFor } from '@calsync/local-infra'

const root = fileURLToPath(new URL('..', import.meta.url))
const env = process.env

const SERVICES = [
  { name: 'webhook-gateway', portVariable: 'GATEWAY_PORT', port: 8080, entry: 'services/webhook-gateway/src/main.ts' },
  { name: 'appointments', portVariable: 'APPOINTMENTS_PORT', port: 8081, entry: 'services/appointments/src/main.ts' },
  { name: 'calcom-sync', portVariable: 'CALCOM_SYNC_PORT', port: 8082, entry: 'services/calcom-sync/src/main.ts' },
  { name: 'review', portVariable: 'REVIEW_PORT', port: 8083, entry: 'services/review/src/main.ts' },
  {
    name: 'calcom-sandbox',
    portVariable: 'CALCOM_SANDBOX_PORT',
    port: 8090,
    entry: 'packages/calcom-sandbox/src/main.ts',
  },
] as const

const say = (line: string) => process.stdout.write(`[calsync] ${line}\n`)
const servers: ManagedProcess[] = []
const services: ManagedProcess[] = []
let stopping: Promise<void> | undefined

function stopAll(code: number): Promise<void> {
  stopping ??= (async () => {
    say('stopping services…')
    await Promise.all(services.map((service) => service.stop()))
    say('stopping servers…')
    for (const server of servers.reverse()) await server.stop()
    say('stopped')
    process.exit(code)
  })()
  return stopping
}
process.on('SIGINT', () => void stopAll(0))
process.on('SIGTERM', () => void stopAll(0))

/** Prefixes each line of a child's output with its name, so one stream stays readable. */
function prefixOutput(name: string, managed: ManagedProcess) {
  const label = `${name}`.padEnd(16)
  for (const stream of [managed.child.stdout, managed.child.stderr]) {
    if (!stream) continue
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${label}| ${line}\n`))
  }
}

type Service = (typeof SERVICES)[number]

function portOf(service: Service): number {
  return Number(env[service.portVariable] ?? service.port)
}

async function main() {
  const dataDir = env.CALSYNC_DATA_DIR ?? `${root}.data`
  let natsUrl = env.NATS_URL
  let mongoUrl = env.MONGO_URL
  if (!natsUrl) {
    const nats = await startNatsServer({ dataDir, port: Number(env.CALSYNC_LOCAL_NATS_PORT ?? 4222) })
    servers.push(nats.process)
    natsUrl = nats.url
    say(`NATS ${nats.version} at ${nats.url} (data in ${dataDir}/nats)`)
  }
  if (!mongoUrl) {
    const mongo = await startFerretDb({ dataDir, port: Number(env.CALSYNC_LOCAL_MONGO_PORT ?? 27017) })
    servers.push(mongo.process)
    mongoUrl = mongo.url
    say(`${mongo.version} at ${mongo.url} (data in ${dataDir}/ferretdb)`)
  }
  const tenantsFile = env.CALSYNC_TENANTS ?? `${root}config/demo-tenants.yaml`
  // Without a real Cal.com, the sandbox stands in for it and sends its webhooks to our gateway.
  const useSandbox = !env.CALCOM_API_URL
  const running = SERVICES.filter((service) => useSandbox || service.name !== 'calcom-sandbox')
  const byName = (name: Service['name']) => SERVICES.find((service) => service.name === name) as Service
  const serviceEnv = {
    ...env,
    NATS_URL: natsUrl,
    MONGO_URL: mongoUrl,
    CALSYNC_TENANTS: tenantsFile,
    CALSYNC_ADMIN_TOKEN: env.CALSYNC_ADMIN_TOKEN ?? 'calsync-demo-admin-token',
    CALCOM_API_URL: env.CALCOM_API_URL ?? `http://127.0.0.1:${portOf(byName('calcom-sandbox'))}`,
    CALCOM_SANDBOX_WEBHOOK_URL:
      env.CALCOM_SANDBOX_WEBHOOK_URL ??
      `http://127.0.0.1:${portOf(byName('webhook-gateway'))}/webhooks/calcom/{tenantId}`,
  }
  for (const service of running) {
    const managed = spawnTethered(service.name, process.execPath, [`${root}${service.entry}`], {
      env: serviceEnv,
      output: 'pipe',
    })
    prefixOutput(service.name, managed)
    services.push(managed)
  }
  await Promise.all(
    running.map((service, index) =>
      waitFor(
        `${service.name} /readyz`,
        async () => (await fetch(`http://127.0.0.1:${portOf(service)}/readyz`)).ok,
        60_000,
        services[index]?.child,
      ),
    ),
  )
  const [gateway, appointments, sync, review] = SERVICES.map(portOf)
  say('all services ready')
  say(`  webhook gateway   http://localhost:${gateway}/webhooks/calcom/<tenantId>`)
  say(`  appointments API  http://localhost:${appointments}/v1/appointments`)
  say(`  calcom-sync       http://localhost:${sync}/readyz`)
  say(`  review dashboard  http://localhost:${review}/`)
  if (useSandbox) say(`  Cal.com sandbox   http://localhost:${portOf(byName('calcom-sandbox'))}/v2/bookings`)
  say(`tenants from ${tenantsFile}; press Ctrl-C to stop`)
}

main().catch((error: unknown) => {
  process.stderr.write(`[calsync] cannot start the stack: ${(error as Error).message}\n`)
  void stopAll(1)
})
