// PostgreSQL for FerretDB's PostgreSQL handler: a cluster of its own under a data dir, on
// loopback, started from the system's PostgreSQL binaries (Debian: the postgresql package).
import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { type ManagedProcess, spawnTethered, waitFor } from './processes.ts'

/** The database FerretDB keeps its data in (one PostgreSQL schema per MongoDB database). */
export const FERRETDB_DATABASE = 'ferretdb'
const SUPERUSER = 'calsync'

/** `CALSYNC_POSTGRES_BIN`, else the newest /usr/lib/postgresql/<major>/bin, else `pg_config --bindir`. */
export function postgresBinDir(): string | undefined {
  const candidates: string[] = []
  if (process.env.CALSYNC_POSTGRES_BIN) candidates.push(process.env.CALSYNC_POSTGRES_BIN)
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const majors = readdirSync(debian).filter((name) => /^\d+$/.test(name))
    for (const major of majors.sort((a, b) => Number(b) - Number(a))) candidates.push(join(debian, major, 'bin'))
  }
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim())
  } catch {
    // no pg_config on PATH
  }
  return candidates.find((dir) => existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb')))
}

export function requirePostgresBinDir(): string {
  const dir = postgresBinDir()
  if (!dir) {
    throw new Error(
      'PostgreSQL not found (FerretDB over PostgreSQL was asked for): install it (Debian: apt-get install postgresql) or set CALSYNC_POSTGRES_BIN to its bin directory',
    )
  }
  return dir
}

export function postgresVersion(binDir: string): string {
  return execFileSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' }).trim()
}

/**
 * PostgreSQL refuses to run as root. As root we run it as the `postgres` account the package
 * creates (setpriv execs in place, so a kill of the process group reaches the server itself).
 */
function asServerUser(command: string, args: string[]): { command: string; args: string[]; uid?: number } {
  if (process.getuid?.() !== 0) return { command, args }
  let uid: number
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
  } catch {
    throw new Error('PostgreSQL will not run as root and there is no `postgres` account to run it as')
  }
  return {
    command: 'setpriv',
    args: ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args],
    uid,
  }
}

/** Creates the cluster under `clusterDir` unless it exists. */
function ensureCluster(binDir: string, clusterDir: string): void {
  if (existsSync(join(clusterDir, 'PG_VERSION'))) return
  mkdirSync(clusterDir, { recursive: true })
  const initdb = asServerUser(join(binDir, 'initdb'), [
    '-D',
    clusterDir,
    '-U',
    SUPERUSER,
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--locale=C',
    // initdb's own files only; the server itself keeps fsync on.
    '--no-sync',
  ])
  if (initdb.uid !== undefined) {
    chownSync(clusterDir, initdb.uid, -1)
    // The server's account must be able to pass through the data dir (a mkdtemp dir is 0700).
    const parent = dirname(clusterDir)
    chmodSync(parent, statSync(parent).mode | 0o001)
  }
  try {
    execFileSync(initdb.command, initdb.args, { stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim()
    throw new Error(`initdb of ${clusterDir} failed: ${stderr || (error as Error).message}`)
  }
}

const isReady = (binDir: string, port: number) => () =>
  new Promise<boolean>((resolve) => {
    execFile(join(binDir, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', SUPERUSER], (error) =>
      resolve(!error),
    )
  })

/**
 * Starts PostgreSQL on `port` over `clusterDir` (created on first use); resolves once it accepts
 * queries and FerretDB's database exists. The URL for FerretDB is returned with it.
 */
export async function spawnPostgres(
  binDir: string,
  port: number,
  clusterDir: string,
  output: 'inherit' | 'ignore',
): Promise<{ managed: ManagedProcess; url: string }> {
  ensureCluster(binDir, clusterDir)
  const server = asServerUser(join(binDir, 'postgres'), [
    '-D',
    clusterDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${clusterDir}`,
    '-c',
    'max_connections=200',
  ])
  // Right after a SIGKILL, the old server's backends can hold its shared memory for a moment,
  // and a new server refuses to start until they are gone: try again a few times.
  for (let attempt = 1; ; attempt++) {
    const managed = spawnTethered('postgres', server.command, server.args, { output })
    try {
      await waitFor('postgres', isReady(binDir, port), 30_000, managed.child)
      createDatabase(binDir, port)
      return { managed, url: `postgres://${SUPERUSER}@127.0.0.1:${port}/${FERRETDB_DATABASE}` }
    } catch (error) {
      await managed.stop()
      if (attempt >= 5) throw error
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt))
    }
  }
}

function createDatabase(binDir: string, port: number): void {
  const psql = (sql: string) =>
    execFileSync(
      join(binDir, 'psql'),
      ['-h', '127.0.0.1', '-p', String(port), '-U', SUPERUSER, '-d', 'postgres', '-At', '-c', sql],
      { encoding: 'utf8' },
    ).trim()
  if (psql(`SELECT 1 FROM pg_database WHERE datname = '${FERRETDB_DATABASE}'`) !== '1') {
    psql(`CREATE DATABASE ${FERRETDB_DATABASE}`)
  }
}
