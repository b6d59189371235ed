// `npm start`: the whole local stack in the foreground — NATS and FerretDB (unless NATS_URL /
// MONGO_URL are set), the four services and, without a real Cal.com, the sandbox. One log stream;
// Ctrl-C stops the gateway, then the other services, then the sandbox, then the servers.
import { relative, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import {
  ferretDbBackend,
  holdsSqliteData,
  type ManagedProcess,
  spawnTethered,
  startFerretDb,
  startNatsServer,
  waitFor,
} from '@calsync/local-infra'
import { stackRegistryKey } from './lib/registry-key-file.ts'
import { loadTenantsWithTokens } from './lib/tenants-with-tokens.ts'
import { findService, SERVICES, type ServiceEntry } from './services.ts'
import { chooseLogFormat, createLogLines } from './stack/log-lines.ts'
import { readySummary } from './stack/ready-summary.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const env = process.env
const DEMO_TENANTS = `${root}config/demo-tenants.yaml`
const DEMO_ADMIN_TOKEN = 'calsync-demo-admin-token'

/** Stop order: webhooks stop coming in first, the stand-in for Cal.com goes last so syncs in flight finish. */
const STOP_PHASES: string[][] = [['webhook-gateway'], ['appointments', 'calcom-sync', 'review'], ['calcom-sandbox']]

let format: ReturnType<typeof chooseLogFormat>
try {
  format = chooseLogFormat(env.CALSYNC_LOG_FORMAT, process.stdout.isTTY === true)
} catch (error) {
  process.stderr.write(`[calsync] ${(error as Error).message}\n`)
  process.exit(2)
}
const logLines = createLogLines({ format, color: process.stdout.isTTY === true && !env.NO_COLOR })
const say = (msg: string, fields?: Record<string, unknown>) =>
  process.stdout.write(logLines.fromRunner('info', msg, fields))
const complain = (msg: string, fields?: Record<string, unknown>) =>
  process.stdout.write(logLines.fromRunner('error', msg, fields))

const servers: ManagedProcess[] = []
const services = new Map<string, ManagedProcess>()
let stopping: Promise<void> | undefined

function stopAll(code: number): Promise<void> {
  stopping ??= (async () => {
    for (const phase of STOP_PHASES) {
      const running = phase
        .flatMap((name) => services.get(name) ?? [])
        .filter((service) => service.child.exitCode === null && service.child.signalCode === null)
      if (running.length === 0) continue
      say(`stopping ${running.map((service) => service.name).join(', ')}…`)
      await Promise.all(running.map((service) => service.stop()))
    }
    for (const server of servers.reverse()) {
      say(`stopping ${server.name}…`)
      await server.stop()
    }
    say('stopped')
    process.exit(code)
  })()
  return stopping
}
process.on('SIGINT', () => void stopAll(0))
process.on('SIGTERM', () => void stopAll(0))

/** Feeds each line of a child's output through the formatter, so one stream stays readable. */
function forwardOutput(name: string, managed: ManagedProcess) {
  for (const [streamName, stream] of [
    ['stdout', managed.child.stdout],
    ['stderr', managed.child.stderr],
  ] as const) {
    if (!stream) continue
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
      process.stdout.write(logLines.fromChild(name, line, streamName)),
    )
  }
}

function portOf(name: string): number {
  const service = findService(name) as ServiceEntry
  return Number(env[service.portVariable] ?? service.port)
}

async function main() {
  if (env.CALSYNC_METRICS_PORT) {
    // Four services on one host cannot share one port: it is for a process or container of its own.
    throw new Error(
      'CALSYNC_METRICS_PORT is one port per service process: set it with `npm run service`, not `npm start`',
    )
  }
  const dataDir = env.CALSYNC_DATA_DIR ?? `${root}.data`
  const tenantsFile = env.CALSYNC_TENANTS ?? DEMO_TENANTS
  // Read the tenants first: a bad file should stop us before anything starts.
  const tenants = await loadTenantsWithTokens(tenantsFile, env)
  const registryKey = stackRegistryKey(dataDir, env)
  say(
    registryKey.source === 'environment'
      ? `tenant registry key ${registryKey.kid} from CALSYNC_REGISTRY_KEY`
      : `tenant registry key ${registryKey.kid} ${registryKey.source === 'new' ? 'made and kept' : 'kept'} in ${dataDir}/registry-key`,
  )
  let natsUrl = env.NATS_URL
  let mongoUrl = env.MONGO_URL
  if (!natsUrl) {
    const nats = await startNatsServer({ dataDir, port: Number(env.CALSYNC_LOCAL_NATS_PORT ?? 4222) })
    servers.push(nats.process)
    natsUrl = nats.url
    say(`NATS ${nats.version} at ${nats.url}`, { dataDir: `${dataDir}/nats` })
  }
  if (!mongoUrl) {
    const backend = ferretDbBackend(env, dataDir)
    if (backend === 'sqlite' && !env.CALSYNC_FERRETDB_BACKEND) {
      say(
        holdsSqliteData(dataDir)
          ? 'FerretDB stays over SQLite: this data dir holds its data (CALSYNC_FERRETDB_BACKEND=postgresql starts afresh)'
          : 'no PostgreSQL server binaries (Debian: apt-get install postgresql): FerretDB runs over SQLite, about a third as fast',
      )
    }
    const mongo = await startFerretDb({ dataDir, backend, port: Number(env.CALSYNC_LOCAL_MONGO_PORT ?? 27017) })
    servers.push(mongo.process)
    mongoUrl = mongo.url
    say(`${mongo.version} at ${mongo.url}`, { dataDir: `${dataDir}/${backend === 'sqlite' ? 'ferretdb' : 'postgres'}` })
  }
  // Without a real Cal.com, the sandbox stands in for it and sends its webhooks to our gateway.
  const useSandbox = !env.CALCOM_API_URL
  const running = SERVICES.filter((service) => useSandbox || service.name !== 'calcom-sandbox')
  const adminToken = env.CALSYNC_ADMIN_TOKEN ?? DEMO_ADMIN_TOKEN
  const serviceEnv = {
    ...env,
    NATS_URL: natsUrl,
    MONGO_URL: mongoUrl,
    CALSYNC_TENANTS: tenantsFile,
    CALSYNC_ADMIN_TOKEN: adminToken,
    CALSYNC_REGISTRY_KEY: registryKey.key,
    CALCOM_API_URL: env.CALCOM_API_URL ?? `http://127.0.0.1:${portOf('calcom-sandbox')}`,
    CALCOM_SANDBOX_WEBHOOK_URL:
      env.CALCOM_SANDBOX_WEBHOOK_URL ?? `http://127.0.0.1:${portOf('webhook-gateway')}/webhooks/calcom/{tenantId}`,
  }
  for (const service of running) {
    const managed = spawnTethered(service.name, process.execPath, [`${root}${service.entry}`], {
      env: serviceEnv,
      output: 'pipe',
    })
    forwardOutput(service.name, managed)
    services.set(service.name, managed)
    // A service that dies on its own takes the stack down with it, rather than leaving half a system up.
    managed.child.once('exit', (code, signal) => {
      if (stopping) return
      complain(`${service.name} exited on its own; stopping the stack`, { code, signal })
      void stopAll(1)
    })
  }
  await Promise.all(
    running.map((service) =>
      waitFor(
        `${service.name} /readyz`,
        async () => (await fetch(`http://127.0.0.1:${portOf(service.name)}/readyz`)).ok,
        60_000,
        services.get(service.name)?.child,
      ),
    ),
  )
  const summary = readySummary({
    tenants,
    ports: {
      gateway: portOf('webhook-gateway'),
      appointments: portOf('appointments'),
      sync: portOf('calcom-sync'),
      review: portOf('review'),
      sandbox: useSandbox ? portOf('calcom-sandbox') : undefined,
    },
    tenantsFile: relative(root, tenantsFile) || tenantsFile,
    demoTokens: resolve(tenantsFile) === DEMO_TENANTS,
    demoAdminToken: env.CALSYNC_ADMIN_TOKEN ? undefined : adminToken,
    now: new Date(),
  })
  if (format === 'json') for (const { msg, ...fields } of summary.records) say(msg, fields)
  else process.stdout.write(`\n${summary.text}\n`)
}

main().catch((error: unknown) => {
  complain(`cannot start the stack: ${(error as Error).message}`)
  void stopAll(1)
})
