import { mkdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, uniqueDbName, uniqueNames } from '../../../test/support/infra.ts'
import { LOG_DIR } from '../../../test/support/logs.ts'
import { type ServiceProcess, startServiceProcess } from '../../../test/support/service-process.ts'
import { REVIEW_ADMIN_TOKEN } from './support/review-harness.ts'

describe('review as its own process (main.ts)', () => {
  const started: ServiceProcess[] = []
  // startServiceProcess saves each process's output there for the secret scan, but does not create it.
  beforeAll(() => {
    mkdirSync(LOG_DIR, { recursive: true })
  })
  afterAll(async () => {
    for (const service of started) await service.managed.stop()
  })

  it('creates its streams and consumers, serves API and dashboard, and stops cleanly on SIGTERM', async () => {
    const names = uniqueNames()
    const review = await startServiceProcess('review', {
      names,
      dbName: uniqueDbName('review_main'),
      portVariable: 'REVIEW_PORT',
      env: { CALSYNC_ADMIN_TOKEN: REVIEW_ADMIN_TOKEN },
    })
    started.push(review)
    const base = `http://127.0.0.1:${review.port}`
    const ready = await fetch(`${base}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { nats: true, database: true, consumers: true },
    })
    expect(ready.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/)
    const page = await fetch(`${base}/`)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const list = await fetch(`${base}/v1/review-items`, { headers: { authorization: `Bearer ${REVIEW_ADMIN_TOKEN}` } })
    expect(await list.json()).toEqual({ items: [], nextCursor: null })
    expect((await fetch(`${base}/v1/review-items`)).status).toBe(401)

    await review.managed.stop(10_000)
    expect(await review.exited).toBe(0)
    expect(review.output()).toContain('"msg":"stopped"')
    expect(review.output()).not.toContain(REVIEW_ADMIN_TOKEN)
    expect(review.output()).not.toContain('CALSYNC_ADMIN_TOKEN is not set')
  })

  it('warns at start when CALSYNC_ADMIN_TOKEN is not set, and still serves tenant tokens', async () => {
    const review = await startServiceProcess('review', {
      names: uniqueNames(),
      dbName: uniqueDbName('review_main'),
      portVariable: 'REVIEW_PORT',
      env: { CALSYNC_ADMIN_TOKEN: '' },
    })
    started.push(review)
    await eventually('the warning', async () =>
      review.output().includes('CALSYNC_ADMIN_TOKEN is not set') ? true : undefined,
    )
    const list = await fetch(`http://127.0.0.1:${review.port}/v1/review-items`, {
      headers: { authorization: 'Bearer acme-phone-token-7d6c5b4a3f2e' },
    })
    expect(list.status).toBe(200)
  })
})
