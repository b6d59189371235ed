// What a calsync container runs, exercised without Docker: the image's CMD (`node
// scripts/run-service.ts`, the service named by CALSYNC_SERVICE), its HEALTHCHECK (`node
// scripts/healthcheck.ts`) and its stop signal (SIGTERM).
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { findFreePort, spawnTethered } from '@calsync/local-infra'
import { afterEach, describe, expect, it } from 'vitest'
import { eventually } from '../support/infra.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** Only what a container would have: no CALSYNC_*, HOST or port variables leak in from this shell. */
function containerEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', ...env }
}

function runScript(script: string, env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${root}${script}`],
      { env: containerEnv(env), timeout: 20_000 },
      (error, _out, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        resolve({ code, stderr })
      },
    )
  })
}

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

/** A stand-in service whose /readyz answers with `status`; returns its port and the paths it was asked for. */
async function fakeService(status: number, body = '{}'): Promise<{ port: number; paths: string[] }> {
  const paths: string[] = []
  const server = createServer((request, response) => {
    paths.push(`${request.method} ${request.url}`)
    response.writeHead(status, { 'content-type': 'application/json' }).end(body)
  })
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { port: (server.address() as AddressInfo).port, paths }
}

describe('scripts/healthcheck.ts', () => {
  it('is healthy (exit 0) when the service answers 200 on /readyz at its port', async () => {
    const service = await fakeService(200)
    const result = await runScript('scripts/healthcheck.ts', {
      CALSYNC_SERVICE: 'review',
      REVIEW_PORT: String(service.port),
    })
    expect(result).toEqual({ code: 0, stderr: '' })
    expect(service.paths).toEqual(['GET /readyz'])
  })

  it('is unhealthy (exit 1) with the answer when the service is not ready', async () => {
    const service = await fakeService(503, '{"status":"not ready","checks":{"nats":false}}')
    const result = await runScript('scripts/healthcheck.ts', {
      CALSYNC_SERVICE: 'webhook-gateway',
      GATEWAY_PORT: String(service.port),
      HOST: '127.0.0.1',
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('answered 503: {"status":"not ready","checks":{"nats":false}}')
  })

  it('is unhealthy (exit 1) when nothing listens on the port', async () => {
    const result = await runScript('scripts/healthcheck.ts', {
      CALSYNC_SERVICE: 'appointments',
      APPOINTMENTS_PORT: String(await findFreePort()),
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('did not answer: ECONNREFUSED')
  })

  it('is unhealthy (exit 1) when CALSYNC_SERVICE names no service', async () => {
    const result = await runScript('scripts/healthcheck.ts', { CALSYNC_SERVICE: 'billing' })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('CALSYNC_SERVICE must name a calsync service, got "billing"')
  })
})

describe('scripts/run-service.ts as the image command', () => {
  it('refuses to start without a service name', async () => {
    const result = await runScript('scripts/run-service.ts', {})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('usage: npm run service -- <webhook-gateway|appointments|')
  })

  it('runs the service CALSYNC_SERVICE names until SIGTERM stops it cleanly', async () => {
    const port = String(await findFreePort())
    const env = {
      CALSYNC_SERVICE: 'calcom-sandbox',
      CALCOM_SANDBOX_PORT: port,
      CALSYNC_TENANTS: `${root}config/demo-tenants.yaml`,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    }
    const sandbox = spawnTethered('calcom-sandbox', process.execPath, [`${root}scripts/run-service.ts`], {
      env: containerEnv(env),
      output: 'pipe',
    })
    const exited = once(sandbox.child, 'exit')
    try {
      await eventually(
        'the healthcheck to pass',
        async () => ((await runScript('scripts/healthcheck.ts', env)).code === 0 ? true : undefined),
        20_000,
      )
      sandbox.child.kill('SIGTERM')
      const [code] = await exited
      expect(code).toBe(0)
      expect((await runScript('scripts/healthcheck.ts', env)).code).toBe(1)
    } finally {
      await sandbox.stop()
    }
  })
})
