import { mkdirSync } from 'node:fs'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { binaryVersion, findBinary } from './binaries.ts'
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

/** FerretDB (MongoDB wire protocol over SQLite), its files under `dataDir`. */
export async function startFerretDb(options: LocalServerOptions): Promise<RunningServer> {
  const binary = ferretDbBinary()
  const port = options.port ?? (await findFreePort())
  const managed = await spawnFerretDb(binary, port, ferretDbDir(options.dataDir), options.output ?? 'ignore')
  return { url: `mongodb://127.0.0.1:${port}/`, version: binaryVersion(binary), process: managed }
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

/** Starts FerretDB on `port` over `sqliteDir`; resolves once it accepts connections. */
export async function spawnFerretDb(
  binary: string,
  port: number,
  sqliteDir: string,
  output: 'inherit' | 'ignore',
): Promise<ManagedProcess> {
  const managed = spawnTethered(
    'ferretdb',
    binary,
    [`--listen-addr=127.0.0.1:${port}`, `--sqlite-url=file:${sqliteDir}/`],
    { output },
  )
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
