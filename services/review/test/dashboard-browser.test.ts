import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type AppointmentEvent, streamDefinitions } from '@calsync/contracts'
import { ensureStream } from '@calsync/service-kit'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { ACME, BRIGHT, futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from '../../appointments/test/support/harness.ts'
import { createSyncReporter } from '../../calcom-sync/src/sync/sync-reporter.ts'
import { REVIEW_ADMIN_TOKEN, type ReviewHarness, startReviewHarness } from './support/review-harness.ts'

// Debian's Chromium: this suite never downloads a browser.
const CHROMIUM = process.env.CALSYNC_CHROMIUM || '/usr/bin/chromium'
const SCREENSHOT = fileURLToPath(new URL('../../../test-artifacts/review-dashboard.png', import.meta.url))
const UI_TIMEOUT_MS = 20_000
const attendee = { name: 'Mia', email: 'mia@example.org', timeZone: 'UTC' }

describe('the operator dashboard in a real browser', () => {
  let h: AppointmentsHarness
  let r: ReviewHarness
  let browser: Browser
  let url: string

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `the dashboard test drives Chromium at ${CHROMIUM}, which is missing: apt-get install chromium, or set CALSYNC_CHROMIUM`,
      )
    }
    h = await startAppointmentsHarness()
    r = await startReviewHarness({ names: h.names })
    await r.app.listen({ host: '127.0.0.1', port: 0 })
    const address = r.app.server.address()
    if (!address || typeof address === 'string') throw new Error('the review app is not listening on a port')
    url = `http://127.0.0.1:${address.port}/`
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
  })
  afterAll(async () => {
    await browser?.close()
    await r?.close()
    await h?.close()
  })

  /** A booked appointment whose sync failed for good, reported as calcom-sync reports it. */
  async function failedAppointment(tenantToken: string, eventTypeId: number, hour: number) {
    const created = await h.api(tenantToken, 'POST', '/v1/appointments', {
      eventTypeId,
      start: futureSlot(6, hour),
      attendee,
    })
    expect(created.statusCode).toBe(201)
    const id: string = created.json().id
    const booked: AppointmentEvent = (await eventually('the booked event', async () => (await h.events(id))[0])).body
    await createSyncReporter({ js: h.js, names: h.names }).failed(
      booked,
      4,
      'calcom_server_error',
      'Cal.com answered 502 Bad Gateway four times',
      null,
    )
    const item = await eventually('the review item', () => r.itemOf(`sync_failed:${booked.tenantId}:${id}`))
    return { id, item, booked }
  }

  /** A page that records script errors and console errors (a CSP violation is one). */
  async function openDashboard(token: string): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`)
    })
    const response = await page.goto(url)
    expect(response?.headers()['content-type']).toMatch(/^text\/html/)
    await page.fill('#token', token)
    await page.click('#login-form button[type=submit]')
    await page.locator('#app').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS })
    return { page, problems }
  }

  it('shows a failed item, retries it, and drops it from the open queue once the sync succeeds', async () => {
    const failed = await failedAppointment(TEST_SECRETS.ACME_ADMIN_TOKEN, 1001, 9)
    await failedAppointment(TEST_SECRETS.BRIGHT_API_TOKEN, 2001, 10)
    await r.publishReview({
      type: 'review.requested',
      kind: 'unmapped_event_type',
      causeId: 'unmapped:dashboard-1',
      tenantId: ACME,
      appointmentIds: [],
      errorCode: 'unknown_event_type',
      errorMessage: 'Cal.com event type 4711 belongs to no tenant (BOOKING_CREATED of booking <b>x</b>)',
      attempts: 0,
      at: new Date().toISOString(),
      detail: {},
    })
    await eventually('the unmapped item', () => r.itemOf('unmapped:dashboard-1'))

    const { page, problems } = await openDashboard(REVIEW_ADMIN_TOKEN)
    const row = page.locator(`tr[data-id="${failed.item.id}"]`)
    await row.waitFor({ timeout: UI_TIMEOUT_MS })
    const text = await row.textContent()
    for (const expected of [ACME, failed.id, 'calcom_server_error', 'Cal.com answered 502 Bad Gateway four times']) {
      expect(text).toContain(expected)
    }
    await expect.poll(() => page.locator('#rows tr').count()).toBe(3)
    // Data is text, never markup.
    expect(await page.locator('#rows b').count()).toBe(0)
    expect(await page.locator('#rows').textContent()).toContain('<b>x</b>')
    await page.locator('#stats .card').first().waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await page.locator('#stats').textContent()).toContain('Success rate')

    await row.locator('button[data-action="retry"]').click()
    await page.locator(`tr[data-id="${failed.item.id}"][data-state="retrying"]`).waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await row.textContent()).toContain('retrying…')
    mkdirSync(dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })

    // calcom-sync works the re-drive and succeeds: the item resolves and leaves the open queue.
    const redrive = await eventually('the sync_requested event', async () =>
      (await h.events(failed.id)).find((message) => message.body.type === 'appointment.sync_requested'),
    )
    await createSyncReporter({ js: h.js, names: h.names }).succeeded(redrive.body, 1, 'bk_dashboard_1')
    await row.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS })
    expect(await r.itemOf(`sync_failed:${ACME}:${failed.id}`)).toMatchObject({ status: 'resolved' })
    expect(await page.locator('#rows tr').count()).toBe(2)
    expect(problems).toEqual([])
    await page.close()
  })

  it("opens an item's history: its appointment's story with the item's own opening among it", async () => {
    const failed = await failedAppointment(TEST_SECRETS.ACME_ADMIN_TOKEN, 1002, 12)
    const { page, problems } = await openDashboard(REVIEW_ADMIN_TOKEN)
    const row = page.locator(`tr[data-id="${failed.item.id}"]`)
    await row.waitFor({ timeout: UI_TIMEOUT_MS })
    await row.locator('button[data-action="history"]').click()
    await page.locator('#history .story li').first().waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await page.locator('#history h3').allTextContents()).toEqual([failed.id])
    const lines = await page.locator('#history .story li .what').allTextContents()
    expect(lines).toEqual(['created', 'sync attempt', 'review opened'])
    expect(await page.locator('#history').textContent()).toContain('failed for good (calcom_server_error')
    await page.click('#history-close')
    expect(await page.locator('#history').isHidden()).toBe(true)
    // Another tenant's item is not found by a tenant token (the API, as the page would call it).
    const foreign = await r.app.inject({
      method: 'GET',
      url: `/v1/review-items/${failed.item.id}/history`,
      headers: { authorization: `Bearer ${TEST_SECRETS.BRIGHT_API_TOKEN}` },
    })
    expect(foreign.statusCode).toBe(404)
    expect(problems).toEqual([])
    await page.close()
  })

  it('works with a tenant token: only its items, resolved with a note from the prompt', async () => {
    const { page, problems } = await openDashboard(TEST_SECRETS.BRIGHT_API_TOKEN)
    const rows = page.locator('#rows tr')
    await rows.first().waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await rows.count()).toBe(1)
    expect(await rows.first().textContent()).toContain(BRIGHT)
    const id = await rows.first().getAttribute('data-id')
    page.once('dialog', (dialog) => void dialog.accept('Called the clinic; booked by hand'))
    await rows.first().locator('button[data-action="resolve"]').click()
    await page.locator(`tr[data-id="${id}"]`).waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS })
    await page.locator('#empty').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS })
    const item = await r.api(REVIEW_ADMIN_TOKEN, 'GET', `/v1/review-items/${id}`)
    expect(item.json()).toMatchObject({ status: 'resolved', note: 'Called the clinic; booked by hand' })

    // A token the API refuses sends the operator back to the token form.
    await page.evaluate(() => sessionStorage.setItem('calsync-review-token', 'no-such-token'))
    await page.click('#refresh')
    await page.locator('#login-error').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS })
    expect(problems.filter((problem) => !problem.includes('401'))).toEqual([])
    await page.close()
  })

  it('labels an unapplied webhook and retries it by replaying the stored message', async () => {
    const webhooks = streamDefinitions(r.names).webhooks
    await ensureStream(r.jsm, webhooks)
    const subject = r.names.subjects.webhook(ACME, 'BOOKING_RESCHEDULED')
    const original = await r.js.publish(subject, '{"type":"calcom.webhook.verified","appointmentId":"apt_dash"}')
    const causeId = `unapplied:${webhooks.name}:${original.seq}`
    await r.publishReview({
      type: 'review.requested',
      kind: 'unapplied_webhook',
      causeId,
      tenantId: ACME,
      appointmentIds: ['apt_dash'],
      errorCode: 'unknown_booking',
      errorMessage: 'BOOKING_RESCHEDULED of a booking calsync does not know',
      attempts: 1,
      at: new Date().toISOString(),
      detail: { stream: webhooks.name, streamSequence: original.seq, subject },
    })
    const item = await eventually('the unapplied item', () => r.itemOf(causeId))

    const { page, problems } = await openDashboard(TEST_SECRETS.ACME_ADMIN_TOKEN)
    const row = page.locator(`tr[data-id="${item.id}"]`)
    await row.waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await row.locator('.kind').textContent()).toBe('webhook not applied')
    const retry = row.locator('button[data-action="retry"]')
    expect(await retry.isEnabled()).toBe(true)
    await retry.click()
    await row.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS })
    const resolved = await r.itemOf(causeId)
    expect(resolved).toMatchObject({ status: 'resolved', note: expect.stringContaining(webhooks.name) })
    const { state } = await r.jsm.streams.info(webhooks.name)
    const replay = await r.jsm.streams.getMessage(webhooks.name, { seq: state.last_seq })
    expect(replay?.subject).toBe(subject)
    expect(replay?.header.get('Calsync-Replay-Of')).toBe(`${webhooks.name}:${original.seq}`)
    expect(problems).toEqual([])
    await page.close()
  })
})
