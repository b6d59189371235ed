import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer, Wait } from 'testcontainers'
import { binaryVersion } from './binaries.ts'
import { MONGO_IMAGE } from './containers.ts'
import {
  canConnect,
  type FerretDbBackend,
  ferretDbServer,
  natsServerBinary,
  natsStoreDir,
  spawnNatsServer,
} from './local-servers.ts'
import { findFreePort, type ManagedProcess, waitFor } from './processes.ts'

/**
 * A database a test can take down and bring back on the same address over the same data, so
 * clients that hold the URL reconnect to it by themselves, as they would after a real outage.
 */
export interface RestartableServer {
  url: string
  version: string
  isRunning(): boolean
  /** Takes it down abruptly (SIGKILL, no graceful shutdown), as a crash or a power cut would. */
  stop(): Promise<void>
  /** Brings it back on the same address over the same data; resolves once it answers. */
  start(): Promise<void>
  /** Takes it down for good and removes what it created (not the caller's data dir). */
  dispose(): Promise<void>
}

/** FerretDB over its backend's files under `dataDir` (see `ferretDbBackend`), on `port` (a free one by default). */
export async function startRestartableFerretDb(options: {
  dataDir: string
  port?: number
  backend?: FerretDbBackend
  output?: 'inherit' | 'ignore'
}): Promise<RestartableServer> {
  const port = options.port ?? (await findFreePort())
  const server = await ferretDbServer({ ...options, port })
  return restartableProcess({ name: 'FerretDB', url: server.url, version: server.version, port, spawn: server.spawn })
}

/** nats-server with JetStream over files under `dataDir`: streams, consumers and KV survive a restart. */
export async function startRestartableNatsServer(options: {
  dataDir: string
  port?: number
  output?: 'inherit' | 'ignore'
}): Promise<RestartableServer> {
  const binary = natsServerBinary()
  const port = options.port ?? (await findFreePort())
  const storeDir = natsStoreDir(options.dataDir)
  return restartableProcess({
    name: 'nats-server',
    url: `nats://127.0.0.1:${port}`,
    version: binaryVersion(binary),
    port,
    spawn: () => spawnNatsServer(binary, port, storeDir, options.output ?? 'ignore'),
  })
}

async function restartableProcess(server: {
  name: string
  url: string
  version: string
  port: number
  spawn: () => Promise<ManagedProcess>
}): Promise<RestartableServer> {
  let current: ManagedProcess | undefined = await server.spawn()
  return {
    url: server.url,
    version: server.version,
    isRunning: () => current !== undefined,
    async stop() {
      await current?.kill()
      current = undefined
    },
    async start() {
      if (current) return
      // A port someone else took while we were down would make the server exit with a bind
      // error; saying so here names the cause.
      const free = async () => !(await canConnect(server.port))
      await waitFor(`port ${server.port} to be free for ${server.name}'s restart`, free, 10_000)
      current = await server.spawn()
    },
    async dispose() {
      await current?.stop()
      current = undefined
    },
  }
}

/**
 * A MongoDB container on a fixed host port (a random mapping would change when the container
 * starts again); stop and start keep the container and so its data.
 */
export async function startRestartableMongoContainer(): Promise<RestartableServer> {
  const hostPort = await findFreePort()
  const started: StartedTestContainer = await new GenericContainer(MONGO_IMAGE)
    .withExposedPorts({ container: 27017, host: hostPort })
    .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
    .start()
  const client = await getContainerRuntimeClient()
  const container = client.container.getById(started.getId())
  let running = true

  return {
    url: `mongodb://${started.getHost()}:${hostPort}/?directConnection=true`,
    version: `mongodb (container ${MONGO_IMAGE})`,
    isRunning: () => running,
    async stop() {
      if (!running) return
      // A zero timeout makes the engine send SIGKILL at once.
      await client.container.stop(container, { timeout: 0 })
      running = false
    },
    async start() {
      if (running) return
      await client.container.start(container)
      running = true
      // The engine's port proxy accepts connections before mongod does: ask mongod itself.
      await waitFor(
        'mongod in the restarted container',
        async () =>
          (await client.container.exec(container, ['mongosh', '--quiet', '--eval', 'db.adminCommand({ ping: 1 }).ok']))
            .exitCode === 0,
        60_000,
      )
    },
    async dispose() {
      running = false
      await started.stop({ timeout: 0, remove: true, removeVolumes: true })
    },
  }
}
