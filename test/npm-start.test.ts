import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findFreePort } from '@calsync/local-infra'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))

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

describe('npm start', () => {
  it('brings up NATS, the database and the four services, and Ctrl-C stops everything', async () => {
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
      ...inherited
    } = process.env
    const env: NodeJS.ProcessEnv = { ...inherited, CALSYNC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }
    for (const [name, port] of Object.entries(ports)) env[name] = String(port)

    // Its own process group, like a shell job: Ctrl-C is a SIGINT to the whole group.
    const npm = spawn('npm', ['start'], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    npm.stdout.on('data', (chunk) => {
      output += chunk
    })
    npm.stderr.on('data', (chunk) => {
      output += chunk
    })
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)))
    try {
      await until('"all services ready"', () => output.includes('all services ready'), 120_000)
      for (const variable of [
        'GATEWAY_PORT',
        'APPOINTMENTS_PORT',
        'CALCOM_SYNC_PORT',
        'REVIEW_PORT',
        'CALCOM_SANDBOX_PORT',
      ] as const) {
        const response = await fetch(`http://127.0.0.1:${ports[variable]}/readyz`)
        expect(response.status, `${variable} /readyz`).toBe(200)
        if (variable !== 'CALCOM_SANDBOX_PORT') expect(response.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/)
      }
      expect(output).toMatch(/nats-server: v2\.\d+\.\d+/)
      expect(output).toContain(`http://localhost:${ports.REVIEW_PORT}/`)

      const processes = descendants(npm.pid as number)
      // npm, the provisioner, the stack runner, 2 servers, 4 services and the sandbox (each behind a tether).
      expect(processes.length).toBeGreaterThanOrEqual(10)

      process.kill(-(npm.pid as number), 'SIGINT')
      const stoppedWithin10s = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000)),
      ])
      expect(stoppedWithin10s, 'stack stopped within 10 s of SIGINT').toBe(true)
      await until('every child process to be gone', () => processes.every((pid) => !alive(pid)), 2000)
      expect(output).toContain('[calsync] stopped')
    } finally {
      if (process.env.CALSYNC_TEST_VERBOSE) process.stdout.write(output)
      if (npm.exitCode === null && alive(npm.pid as number)) process.kill(-(npm.pid as number), 'SIGKILL')
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 180_000)
})
