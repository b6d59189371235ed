import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const tetherScript = fileURLToPath(new URL('./tether.ts', import.meta.url))

export interface ManagedProcess {
  name: string
  child: ChildProcess
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>
  /**
   * SIGKILL to the command and its tether at once, as a crash or power cut would: no graceful
   * shutdown. Resolves when the tether has exited.
   */
  kill(): Promise<void>
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Where the child's stdout/stderr go: inherit, drop, or piped for the caller to read. */
  output?: 'inherit' | 'ignore' | 'pipe'
}

/** Starts a command tethered to this process: it dies with us even if we are killed outright. */
export function spawnTethered(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions = {},
): ManagedProcess {
  const output = options.output ?? 'ignore'
  const child = spawn(process.execPath, [tetherScript, command, ...args], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['pipe', output, output],
    // A group of its own: a terminal's Ctrl-C reaches only us, and we stop children in order.
    detached: true,
  })
  const exited = child.exitCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined)
  return {
    name,
    child,
    async stop(graceMs = 8000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return
      // The tether leads a process group of its own (detached), so the group is it and the command.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      else child.kill('SIGKILL')
      await exited
    },
  }
}

/**
 * Names a directory where every port handed out is claimed once (the test suite sets it). A
 * harness that restarts a process on its port (a killed service, NATS, the database) leaves the
 * port free meanwhile; without claims, a concurrent test file could be handed that port, and one
 * of the two processes would fail to listen while the other answered for it.
 */
export const PORT_CLAIMS_VARIABLE = 'CALSYNC_PORT_CLAIMS'

/** A TCP port that was free a moment ago on 127.0.0.1, and not handed out before in this run. */
export function findFreePort(): Promise<number> {
  return findUnclaimedPort(process.env[PORT_CLAIMS_VARIABLE], portFreeNow)
}

/** The first port from `candidates` not claimed in `claims` (any port when there are no claims). */
export async function findUnclaimedPort(claims: string | undefined, candidates: () => Promise<number>) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await candidates()
    if (!claims || claimPort(claims, port)) return port
  }
  throw new Error(`could not allocate a port not claimed before in ${claims}`)
}

async function portFreeNow(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('could not allocate a port')
  return address.port
}

/** Claims `port` in `directory`, atomically across processes; false if it was claimed before. */
function claimPort(directory: string, port: number): boolean {
  try {
    writeFileSync(join(directory, String(port)), '', { flag: 'wx' })
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

/** Polls `probe` until it returns true, or fails naming `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  exited?: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (exited && (exited.exitCode !== null || exited.signalCode !== null)) {
      throw new Error(`${what}: the process exited (code ${exited.exitCode}, signal ${exited.signalCode})`)
    }
    if (await probe().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms`)
}
