import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ReviewHarness, startReviewHarness } from '../../review/test/support/review-harness.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'

// Debian's Chromium: this suite never downloads a browser.
const CHROMIUM = process.env.CALSYNC_CHROMIUM || '/usr/bin/chromium'
const UI_TIMEOUT_MS = 20_000
const screenshot = (name: string) => fileURLToPath(new URL(`../../../test-artifacts/${name}`, import.meta.url))

describe('the API reference pages in a real browser', () => {
  let h: AppointmentsHarness
  let r: ReviewHarness
  let browser: Browser

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `the reference page test drives Chromium at ${CHROMIUM}, which is missing: apt-get install chromium, or set CALSYNC_CHROMIUM`,
      )
    }
    h = await startAppointmentsHarness()
    r = await startReviewHarness({ names: h.names })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    })
  })
  afterAll(async () => {
    await browser?.close()
    await r?.close()
    await h?.close()
  })

  async function origin(app: FastifyInstance): Promise<string> {
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    if (!address || typeof address === 'string') throw new Error('the app is not listening on a port')
    return `http://127.0.0.1:${address.port}`
  }

  /** Opens `/docs`, noting every request that leaves the service and every script error. */
  async function openReference(app: FastifyInstance, file: string) {
    const base = await origin(app)
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const problems: string[] = []
    const elsewhere: string[] = []
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`)
    })
    page.on('request', (request) => {
      if (!request.url().startsWith(base) && !request.url().startsWith('data:')) elsewhere.push(request.url())
    })
    const response = await page.goto(`${base}/docs`)
    expect(response?.status()).toBe(200)
    await page.locator('.opblock').first().waitFor({ timeout: UI_TIMEOUT_MS })
    mkdirSync(dirname(screenshot(file)), { recursive: true })
    await page.screenshot({ path: screenshot(file), fullPage: true })
    return { page, problems, elsewhere }
  }

  it('renders the appointments API from its own assets', async () => {
    const { page, problems, elsewhere } = await openReference(h.app, 'appointments-api-reference.png')
    expect(await page.locator('.info .title').textContent()).toContain('calsync appointments API')
    const paths = await page.locator('.opblock-summary-path').allTextContents()
    expect(paths.map((path) => path.replace(/\u200b/g, ''))).toEqual(
      expect.arrayContaining(['/v1/appointments', '/v1/appointments/{id}/reschedule']),
    )
    expect(await page.title()).toContain('calsync appointments API')
    expect(elsewhere).toEqual([])
    expect(problems).toEqual([])
  })

  it('renders the review API from its own assets', async () => {
    const { page, problems, elsewhere } = await openReference(r.app, 'review-api-reference.png')
    expect(await page.locator('.info .title').textContent()).toContain('calsync review API')
    const paths = await page.locator('.opblock-summary-path').allTextContents()
    expect(paths.map((path) => path.replace(/\u200b/g, ''))).toEqual(
      expect.arrayContaining(['/v1/review-items', '/v1/reconcile']),
    )
    expect(elsewhere).toEqual([])
    expect(problems).toEqual([])
  })
})
