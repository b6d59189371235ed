import type { ReviewRequest } from '@calsync/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { scrapeApp } from '../../../test/support/prometheus.ts'
import { type Stack, startStack } from '../../../test/support/stack.ts'
import { readStream } from '../../../test/support/streams.ts'
import { BRIGHT, futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import type { Components } from '../src/wiring.ts'
import { startSyncInstance } from './defects/support.ts'

const patient = (n: number) => ({ name: `Patient ${n}`, email: `silence${n}@example.org`, timeZone: 'UTC' })

describe('webhook silence', () => {
  let s: Stack
  let sync: Components
  beforeAll(async () => {
    s = await startStack({ startSync: false })
    // Passes every half second; silent once no webhook came for 3 s while Cal.com changed a second before.
    sync = await startSyncInstance(s, 'silence', {
      reconcileIntervalMs: 500,
      silenceSettings: { silenceAfterMs: 3000, graceMs: 1000 },
    })
  })
  afterAll(async () => {
    await sync?.stop()
    await s?.close()
  })

  /** A customer books on Cal.com for bright-smiles. */
  async function customerBooks(n: number) {
    const response = await fetch(`${s.sandboxUrl}/v2/bookings`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_SECRETS.BRIGHT_CALCOM_API_KEY}`,
        'cal-api-version': '2024-08-13',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ start: futureSlot(40, 8 + n), eventTypeId: 2001, attendee: patient(n) }),
    })
    expect(response.status).toBe(201)
  }
  const silenceRequests = async () =>
    (await readStream<ReviewRequest>(s.appointments.jsm, s.names.streams.review))
      .map((message) => message.body)
      .filter((request) => request.kind === 'webhook_silence' && request.tenantId === BRIGHT)
  const silenceGauge = async () =>
    (await scrapeApp(s.syncApp)).value('calsync_webhook_silence', { tenant: BRIGHT }) ?? Number.NaN

  it('is flagged (review item, metric) when deliveries stop while Cal.com changes, and resolves when they flow again', async () => {
    await customerBooks(0)
    await s.sandbox.flushWebhooks()
    expect(s.sandbox.webhooks().filter((delivery) => delivery.tenantId === BRIGHT && delivery.ok)).toHaveLength(1)
    await eventually('a pass to judge the webhooks flowing', async () =>
      (await silenceGauge()) === 0 ? true : undefined,
    )
    expect(await silenceRequests()).toEqual([])

    // Deliveries dropped (a subscription Cal.com switched off), and a customer books.
    s.sandbox.setWebhookUrl(BRIGHT, undefined)
    await customerBooks(1)
    const flagged = await eventually(
      'the silence flagged',
      async () => (await silenceRequests()).find((request) => !request.resolved),
      15_000,
    )
    expect(flagged).toMatchObject({ errorCode: 'webhook_silence', detail: { reason: 'no_webhooks' } })
    expect(await silenceGauge()).toBe(1)

    // Deliveries back: the next webhook, then a pass, resolve it.
    s.sandbox.setWebhookUrl(BRIGHT, `${s.gatewayUrl}/webhooks/calcom/${BRIGHT}`)
    await customerBooks(2)
    await s.sandbox.flushWebhooks()
    const resolved = await eventually(
      'the silence resolved',
      async () => (await silenceRequests()).find((request) => request.resolved === true),
      15_000,
    )
    expect(resolved.causeId).toBe(flagged.causeId)
    await eventually('the metric back to 0', async () => ((await silenceGauge()) === 0 ? true : undefined))
  })
})
