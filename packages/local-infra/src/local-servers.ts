import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { binaryVersion, findBinary } from './binaries.ts'
import { postgresBinDir, postgresVersion, requirePostgresBinDir, spawnPostgres } from './postgres.ts'
import { findFreePort, type ManagedProcess, spawnTethered, waitFor } from './processes.ts'

export interface RunningServer {
  url: string
  version: string
  process: ManagedProcess
}

export interface LocalServerOptions {
  dataDir: string
  port?: number
  /** Forward server output to ours (npm start) or drop it (tests). */
  output?: 'inherit' | 'ignore'
}

/** nats-server with JetStream, its store under `dataDir`. */
export async function startNatsServer(options: LocalServerOptions): Promise<RunningServer> {
  const binary = natsServerBinary()
  const port = options.port ?? (await findFreePort())
  const managed = await spawnNatsServer(binary, port, natsStoreDir(options.dataDir), options.output ?? 'ignore')
  return { url: `nats://127.0.0.1:${port}`, version: binaryVersion(binary), process: managed }
}

export function natsServerBinary(): string {
  const binary = findBinary('nats-server')
  if (!binary) throw new Error('nats-server not found: run `npm test` or `npm start` to build it, or set NATS_URL')
  return binary
}

/** Where nats-server keeps JetStream's files under a data dir (created if missing). */
export function natsStoreDir(dataDir: string): string {
  const storeDir = join(dataDir, 'nats')
  mkdirSync(storeDir, { recursive: true })
  return storeDir
}

/** Starts nats-server with JetStream on `port` over `storeDir`; resolves once JetStream is up. */
export async function spawnNatsServer(
  binary: string,
  port: number,
  storeDir: string,
  output: 'inherit' | 'ignore',
): Promise<ManagedProcess> {
  const monitorPort = await findFreePort()
  const managed = spawnTethered(
    'nats-server',
    binary,
    ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-n', 'calsync-local'],
    { output },
  )
  try {
    await waitFor(
      'nats-server',
      async () => (await fetch(`http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`)).ok,
      20_000,
      managed.child,
    )
  } catch (error) {
    await managed.stop()
    throw error
  }
  return managed
}

/**
 * Where FerretDB keeps its data: a PostgreSQL cluster of its own, or SQLite files. PostgreSQL
 * unless told (`CALSYNC_FERRETDB_BACKEND`): measured on the same machine it takes about three
 * times the changes per second, runs writers concurrently and pushes equality filters down
 * (docs/testing.md, "The benchmark"). SQLite where the PostgreSQL server binaries are not there,
 * and for a data dir that already holds SQLite data and no cluster: a stack started before keeps
 * its data.
 */
export type FerretDbBackend = 'sqlite' | 'postgresql'

export function ferretDbBackend(env: NodeJS.ProcessEnv = process.env, dataDir?: string): FerretDbBackend {
  const value = env.CALSYNC_FERRETDB_BACKEND
  if (value) {
    if (value !== 'sqlite' && value !== 'postgresql') {
      throw new Error(`CALSYNC_FERRETDB_BACKEND: must be sqlite or postgresql, got ${JSON.stringify(value)}`)
    }
    return value
  }
  if (dataDir && holdsSqliteData(dataDir) && !existsSync(join(dataDir, 'postgres'))) return 'sqlite'
  return postgresBinDir() ? 'postgresql' : 'sqlite'
}

/** Whether FerretDB's SQLite files under `dataDir` hold any database. */
export function holdsSqliteData(dataDir: string): boolean {
  const sqliteDir = join(dataDir, 'ferretdb')
  return existsSync(sqliteDir) && readdirSync(sqliteDir).some((name) => name.endsWith('.sqlite'))
}

/** FerretDB (the MongoDB wire protocol) over SQLite files or PostgreSQL under `dataDir`. */
export async function startFerretDb(
  options: LocalServerOptions & { backend?: FerretDbBackend },
): Promise<RunningServer> {
  const server = await ferretDbServer({ ...options, port: options.port ?? (await findFreePort()) })
  return { url: server.url, version: server.version, process: await server.spawn() }
}

export function ferretDbBinary(): string {
  const binary = findBinary('ferretdb')
  if (!binary) throw new Error('ferretdb not found: run `npm test` or `npm start` to build it, or set MONGO_URL')
  return binary
}

/** Where FerretDB keeps its SQLite files under a data dir (created if missing). */
export function ferretDbDir(dataDir: string): string {
  const sqliteDir = join(dataDir, 'ferretdb')
  mkdirSync(sqliteDir, { recursive: true })
  return sqliteDir
}

/**
 * FerretDB on `port` over its backend under `dataDir`, not yet started: `spawn` starts it (and
 * its PostgreSQL first, on a port fixed here) and may be called again after a kill, over the
 * same data.
 */
export async function ferretDbServer(options: {
  dataDir: string
  port: number
  backend?: FerretDbBackend
  output?: 'inherit' | 'ignore'
}): Promise<{ url: string; version: string; spawn: () => Promise<ManagedProcess> }> {
  const binary = ferretDbBinary()
  const output = options.output ?? 'ignore'
  const url = `mongodb://127.0.0.1:${options.port}/`
  if ((options.backend ?? ferretDbBackend(process.env, options.dataDir)) === 'sqlite') {
    const sqliteDir = ferretDbDir(options.dataDir)
    return {
      url,
      version: `${binaryVersion(binary)} over SQLite`,
      spawn: () => spawnFerretDb(binary, options.port, [`--sqlite-url=file:${sqliteDir}/`], output),
    }
  }
  const binDir = requirePostgresBinDir()
  const postgresPort = await findFreePort()
  const clusterDir = join(options.dataDir, 'postgres')
  return {
    url,
    version: `${binaryVersion(binary)} over ${postgresVersion(binDir)}`,
    async spawn() {
      const postgres = await spawnPostgres(binDir, postgresPort, clusterDir, output)
      try {
        const ferretdb = await spawnFerretDb(binary, options.port, [`--postgresql-url=${postgres.url}`], output)
        return bothProcesses(ferretdb, postgres.managed)
      } catch (error) {
        await postgres.managed.stop()
        throw error
      }
    },
  }
}

/** FerretDB and its PostgreSQL as one process: stopped in order (clients first), killed together. */
function bothProcesses(ferretdb: ManagedProcess, postgres: ManagedProcess): ManagedProcess {
  return {
    name: 'ferretdb',
    child: ferretdb.child,
    async stop(graceMs) {
      await ferretdb.stop(graceMs)
      await postgres.stop(graceMs)
    },
    async kill() {
      await Promise.all([ferretdb.kill(), postgres.kill()])
    },
  }
}

/** Starts FerretDB on `port` with its backend's flags; resolves once it accepts connections. */
async function spawnFerretDb(
  binary: string,
  port: number,
  backendArgs: string[],
  output: 'inherit' | 'ignore',
): Promise<ManagedProcess> {
  const managed = spawnTethered('ferretdb', binary, [`--listen-addr=127.0.0.1:${port}`, ...backendArgs], { output })
  try {
    await waitFor('ferretdb', () => canConnect(port), 20_000, managed.child)
  } catch (error) {
    await managed.stop()
    throw error
  }
  return managed
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
