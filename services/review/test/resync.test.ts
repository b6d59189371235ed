import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from '../../appointments/test/support/harness.ts'
import { REVIEW_ADMIN_TOKEN, type ReviewHarness, startReviewHarness } from './support/review-harness.ts'

const CLI = fileURLToPath(new URL('../src/cli/resync-cli.ts', import.meta.url))
const attendee = { name: 'Sam', email: 'sam@example.org', timeZone: 'UTC' }

interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** The CLI as an operator runs it: its own Node process, token from the environment. */
function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

describe('bulk re-sync', () => {
  let h: AppointmentsHarness
  let r: ReviewHarness
  let url: string
  const ids: string[] = []

  beforeAll(async () => {
    h = await startAppointmentsHarness()
    r = await startReviewHarness({ names: h.names })
    await r.app.listen({ host: '127.0.0.1', port: 0 })
    const address = r.app.server.address()
    if (!address || typeof address === 'string') throw new Error('the review app is not listening on a port')
    url = `http://127.0.0.1:${address.port}`
    // No calcom-sync runs here, so their syncs stay `pending`.
    for (const hour of [9, 10, 11]) {
      const created = await h.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'POST', '/v1/appointments', {
        eventTypeId: 1001,
        start: futureSlot(4, hour),
        attendee,
      })
      expect(created.statusCode).toBe(201)
      ids.push(created.json().id)
    }
    await h.components.relay.runOnce()
  })
  afterAll(async () => {
    await r?.close()
    await h?.close()
  })

  const redrives = async () =>
    (await h.events()).filter((message) => message.body.type === 'appointment.sync_requested')

  it('lists the stuck syncs in a dry run, then re-drives them', async () => {
    const dry = await r.api(REVIEW_ADMIN_TOKEN, 'POST', '/v1/resync', { olderThanSeconds: 0, dryRun: true })
    expect(dry.statusCode).toBe(200)
    expect(dry.json().matched).toBe(3)
    expect([...dry.json().appointmentIds].sort()).toEqual([...ids].sort())
    expect(dry.json().dispatched).toBe(0)
    await h.components.relay.runOnce()
    expect(await redrives()).toHaveLength(0)

    const young = await r.api(REVIEW_ADMIN_TOKEN, 'POST', '/v1/resync', { olderThanSeconds: 3600, dryRun: true })
    expect(young.json()).toEqual({ matched: 0, appointmentIds: [], dispatched: 0 })
    const onlyFailed = await r.api(REVIEW_ADMIN_TOKEN, 'POST', '/v1/resync', {
      olderThanSeconds: 0,
      statuses: ['failed'],
      dryRun: true,
    })
    expect(onlyFailed.json().matched).toBe(0)

    const real = await r.api(REVIEW_ADMIN_TOKEN, 'POST', '/v1/resync', { olderThanSeconds: 0, dryRun: false })
    expect(real.statusCode).toBe(200)
    expect(real.json()).toMatchObject({ matched: 3, dispatched: 3 })
    const events = await eventually('three sync_requested events', async () => {
      const found = await redrives()
      return found.length === 3 ? found : undefined
    })
    expect(events.map((event) => event.body.appointmentId).sort()).toEqual([...ids].sort())
  })

  it('refuses a malformed body', async () => {
    for (const body of [
      { dryRun: true },
      { olderThanSeconds: 0 },
      { olderThanSeconds: -1, dryRun: true },
      { olderThanSeconds: 1.5, dryRun: true },
      { olderThanSeconds: 0, dryRun: 'yes' },
      { olderThanSeconds: 0, dryRun: true, statuses: ['synced'] },
      { olderThanSeconds: 0, dryRun: true, statuses: [] },
      { olderThanSeconds: 0, dryRun: true, tenantId: 'bright-smiles' },
    ]) {
      const response = await r.api(REVIEW_ADMIN_TOKEN, 'POST', '/v1/resync', body)
      expect(response.statusCode, JSON.stringify(body)).toBe(400)
      expect(response.json().error).toBe('bad_request')
    }
  })

  it('runs from the command line against a running review service', async () => {
    const env = { CALSYNC_ADMIN_TOKEN: REVIEW_ADMIN_TOKEN }
    const dry = await runCli(['--older-than', '0', '--dry-run', '--url', url], env)
    expect(dry.stderr).toBe('')
    expect(dry.code).toBe(0)
    const answer = JSON.parse(dry.stdout)
    expect(answer.matched).toBe(3)
    expect([...answer.appointmentIds].sort()).toEqual([...ids].sort())
    expect(answer.dispatched).toBe(0)

    const failedOnly = await runCli(['--older-than', '10m', '--dry-run', '--status', 'failed', '--url', url], env)
    expect(JSON.parse(failedOnly.stdout)).toEqual({ matched: 0, appointmentIds: [], dispatched: 0 })

    const refused = await runCli(['--older-than', '0', '--dry-run', '--url', url], { CALSYNC_ADMIN_TOKEN: 'wrong' })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('HTTP 401')
    for (const args of [[], ['--older-than', 'soon'], ['--older-than', '1m', '--status', 'lost'], ['--bogus']]) {
      const bad = await runCli([...args, '--url', url], env)
      expect(bad.code, args.join(' ')).toBe(2)
      expect(bad.stderr).toContain('usage:')
    }
    const noToken = await runCli(['--older-than', '1m', '--url', url])
    expect(noToken.code).toBe(2)
    expect(noToken.stderr).toContain('CALSYNC_ADMIN_TOKEN')
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('--older-than')
  })
})

describe('when the appointments service does not answer', () => {
  let r: ReviewHarness
  beforeAll(async () => {
    r = await startReviewHarness()
  })
  afterAll(() => r?.close())

  it('answers 503 unavailable on resync, stats and retry', async () => {
    const resync = await r.api(REVIEW_ADMIN_TOKEN, 'POST', '/v1/resync', { olderThanSeconds: 0, dryRun: true })
    expect(resync.statusCode).toBe(503)
    expect(resync.json()).toEqual({ error: 'unavailable', message: expect.stringContaining('not running') })
    const stats = await r.api(REVIEW_ADMIN_TOKEN, 'GET', '/v1/stats/sync')
    expect(stats.statusCode).toBe(503)
    await r.publishReview({
      type: 'review.requested',
      kind: 'sync_failed',
      causeId: 'sync_failed:acme-dental:apt_lonely',
      tenantId: 'acme-dental',
      appointmentIds: ['apt_lonely'],
      errorCode: 'calcom_timeout',
      errorMessage: 'timed out',
      attempts: 4,
      at: new Date().toISOString(),
      detail: {},
    })
    const item = await eventually('the item', () => r.itemOf('sync_failed:acme-dental:apt_lonely'))
    const retry = await r.api(REVIEW_ADMIN_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)
    expect(retry.statusCode).toBe(503)
    expect(retry.json().error).toBe('unavailable')
    expect(await r.itemOf('sync_failed:acme-dental:apt_lonely')).toMatchObject({ status: 'open', retry: null })
  })
})
