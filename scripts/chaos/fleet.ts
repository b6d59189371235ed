// The processes of a chaos run: two instances of every calsync service and the Cal.com sandbox,
// each its own OS process on a port of its own, killed with SIGKILL and started again on the
// same port, as a supervisor would. Each keeps one log file across its restarts.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import { join } from 'node:path'
import { findFreePort, type ManagedProcess, spawnTethered, waitFor } from '@calsync/local-infra'
import { findService, type ServiceEntry } from '../services.ts'

export const CALSYNC_SERVICES = ['webhook-gateway', 'appointments', 'calcom-sync', 'review'] as const
export type CalsyncService = (typeof CALSYNC_SERVICES)[number]

export interface Instance {
  name: string
  /** Exits nobody asked for (a crash); the fleet starts such an instance again, as a supervisor would. */
  crashes(): number
  service: string
  url: string
  up(): boolean
  /** The running process's pid (its tether's: the service runs beneath it), undefined while down. */
  pid(): number | undefined
  start(): Promise<void>
  /** SIGKILL: no shutdown hook runs, nothing is flushed. */
  kill(): Promise<void>
  /** SIGTERM, for the end of the run. */
  stop(): Promise<void>
}

export interface FleetEnv {
  root: string
  runDir: string
  /** Everything every process gets: servers, tenants file, tokens, timeouts. */
  env: NodeJS.ProcessEnv
}

/** Starts one service process on a free port; it is started again when it exits by itself. */
export async function startInstance(fleet: FleetEnv, entry: ServiceEntry, name: string, env: NodeJS.ProcessEnv) {
  const port = await findFreePort()
  const url = `http://127.0.0.1:${port}`
  mkdirSync(join(fleet.runDir, 'logs'), { recursive: true })
  const log: WriteStream = createWriteStream(join(fleet.runDir, 'logs', `${name}.log`), { flags: 'a' })
  let current: ManagedProcess | undefined
  let crashes = 0
  const instance: Instance = {
    name,
    crashes: () => crashes,
    service: entry.name,
    url,
    up: () => current !== undefined,
    pid: () => current?.child.pid,
    async start() {
      if (current) return
      const managed = spawnTethered(name, process.execPath, [join(fleet.root, entry.entry)], {
        env: { ...fleet.env, ...env, HOST: '127.0.0.1', [entry.portVariable]: String(port) },
        output: 'pipe',
      })
      managed.child.stdout?.pipe(log, { end: false })
      managed.child.stderr?.pipe(log, { end: false })
      current = managed
      managed.child.once('exit', (code, signal) => {
        if (current !== managed) return
        crashes++
        log.write(`[fleet] ${name} exited by itself (code ${code}, signal ${signal}); starting it again\n`)
        current = undefined
        setTimeout(() => void instance.start().catch(() => undefined), 500)
      })
      await waitFor(`${name} /readyz`, async () => (await fetch(`${url}/readyz`)).ok, 60_000, managed.child)
    },
    async kill() {
      const managed = current
      current = undefined
      await managed?.kill()
    },
    async stop() {
      const managed = current
      current = undefined
      await managed?.stop()
    },
  }
  await instance.start()
  return instance
}

/** Starts the sandbox, then two instances of each calsync service; answers them by service. */
export async function startFleet(fleet: FleetEnv, perService: Record<string, NodeJS.ProcessEnv>) {
  const entry = (name: string) => findService(name) as ServiceEntry
  const sandbox = await startInstance(
    fleet,
    entry('calcom-sandbox'),
    'calcom-sandbox',
    perService['calcom-sandbox'] ?? {},
  )
  const calcom = { CALCOM_API_URL: sandbox.url }
  const instances: Instance[] = []
  // Two cores: starting eight Node processes at once would only make each start slower.
  for (const service of CALSYNC_SERVICES) {
    for (const index of [1, 2]) {
      const env = { ...calcom, ...perService[service] }
      instances.push(await startInstance(fleet, entry(service), `${service}-${index}`, env))
    }
  }
  const of = (service: CalsyncService) => instances.filter((instance) => instance.service === service)
  return {
    sandbox,
    instances,
    of,
    async stop() {
      // Webhooks stop first, the sandbox last, as `npm start` stops.
      for (const service of CALSYNC_SERVICES) await Promise.all(of(service).map((instance) => instance.stop()))
      await sandbox.stop()
    },
  }
}

export type Fleet = Awaited<ReturnType<typeof startFleet>>
