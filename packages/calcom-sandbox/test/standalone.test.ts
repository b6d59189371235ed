import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { TENANTS_YAML } from '../../../test/support/tenants.ts'
import { ACME, ACME_KEY, attendee, futureSlot, startReceiver, TEST_SECRETS } from './support/sandbox-harness.ts'

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url))

function writeTenantsFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'calcom-sandbox-')), 'tenants.yaml')
  writeFileSync(path, TENANTS_YAML)
  return path
}

describe('main.ts (the sandbox run alone)', () => {
  let child: ChildProcess | undefined
  afterEach(() => {
    // Only the process this test started, by its id.
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    child = undefined
  })

  function run(env: Record<string, string>) {
    const started = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...TEST_SECRETS, HOST: '127.0.0.1', CALCOM_SANDBOX_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = started
    let output = ''
    started.stdout?.on('data', (chunk) => {
      output += chunk
    })
    started.stderr?.on('data', (chunk) => {
      output += chunk
    })
    const exited = once(started, 'exit').then(([code]) => code as number | null)
    return { child: started, output: () => output, exited }
  }

  it('serves the tenants file, sends webhooks to the URL template, and stops on SIGTERM', async () => {
    const receiver = await startReceiver()
    const sandbox = run({
      CALSYNC_TENANTS: writeTenantsFile(),
      CALCOM_SANDBOX_WEBHOOK_URL: receiver.url('/webhooks/calcom/{tenantId}'),
      CALCOM_SANDBOX_RATE_LIMIT: '50',
      LOG_LEVEL: 'debug',
    })
    const port = await eventually('the sandbox to listen', async () => {
      const line = sandbox
        .output()
        .split('\n')
        .find((candidate) => candidate.includes('cal.com sandbox listening'))
      return line ? (JSON.parse(line).port as number) : undefined
    })
    const response = await fetch(`http://127.0.0.1:${port}/v2/bookings`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ACME_KEY}`,
        'cal-api-version': '2024-08-13',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ start: futureSlot(0, 10), eventTypeId: 1001, attendee }),
    })
    expect(response.status).toBe(201)
    expect(response.headers.get('x-ratelimit-limit-default')).toBe('50')
    await eventually('the webhook', async () => receiver.received[0])
    expect(receiver.received[0]?.url).toBe(`/webhooks/calcom/${ACME}`)

    sandbox.child.kill('SIGTERM')
    expect(await sandbox.exited).toBe(0)
    for (const secret of Object.values(TEST_SECRETS)) expect(sandbox.output()).not.toContain(secret)
    await receiver.close()
  })

  it('refuses to start without a tenants file, naming the variable', async () => {
    const sandbox = run({})
    expect(await sandbox.exited).toBe(1)
    expect(sandbox.output()).toContain('CALSYNC_TENANTS')
  })
})
