import { ERROR_CODES, type ReviewRequest } from '@calsync/contracts'
import { createPoisonReporter } from '@calsync/service-kit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { readStream } from '../../../test/support/streams.ts'
import { ACME, BRIGHT } from '../../../test/support/tenants.ts'
import { createReviewPublisher } from '../../appointments/src/review/review-publisher.ts'
import { createSyncReporter } from '../../calcom-sync/src/sync/sync-reporter.ts'
import { createWebhookPublisher } from '../../webhook-gateway/src/webhooks/webhook-publisher.ts'
import { reviewItemIdOf } from '../src/items/review-item.ts'
import {
  appointmentEventFixture,
  REVIEW_ADMIN_TOKEN,
  type ReviewHarness,
  startReviewHarness,
} from './support/review-harness.ts'

describe('review requests become review items', () => {
  let r: ReviewHarness
  beforeAll(async () => {
    r = await startReviewHarness()
  })
  afterAll(() => r.close())

  const idle = () => eventually('review consumers idle', async () => ((await r.consumersIdle()) ? true : undefined))
  const itemsOf = (causeId: string) => r.components.items.items.find({ causeId }).toArray()
  const storedRequests = async (causeId: string) =>
    (await readStream<ReviewRequest>(r.jsm, r.names.streams.review)).filter((m) => m.body.causeId === causeId)

  it('makes one sync_failed item per cause, however often the request is delivered', async () => {
    const reporter = createSyncReporter({ js: r.js, names: r.names })
    await reporter.failed(
      appointmentEventFixture(ACME, 'apt_intake_1'),
      4,
      ERROR_CODES.calcomServerError,
      'Cal.com answered 503',
      null,
    )
    const causeId = `sync_failed:${ACME}:apt_intake_1`
    const item = await eventually('the sync_failed item', () => r.itemOf(causeId))
    expect(item).toMatchObject({
      id: reviewItemIdOf(causeId),
      tenantId: ACME,
      kind: 'sync_failed',
      appointmentIds: ['apt_intake_1'],
      errorCode: 'calcom_server_error',
      errorMessage: 'Cal.com answered 503',
      attempts: 4,
      status: 'open',
      resolvedAt: null,
      note: null,
      retry: null,
    })

    // The same request again under another Nats-Msg-Id (as a republish after a crash would be).
    const [first] = await storedRequests(causeId)
    if (!first) throw new Error('the reporter published no review request')
    await r.publishReview(first.body, 'republished-under-another-id')
    expect(await storedRequests(causeId)).toHaveLength(2)
    await idle()
    expect(await itemsOf(causeId)).toHaveLength(1)
    expect(await r.itemOf(causeId)).toMatchObject({ attempts: 4, status: 'open' })
  })

  it('updates the item when the cause is reported again, and reopens it once resolved', async () => {
    const causeId = `sync_failed:${ACME}:apt_intake_2`
    const report = (attempts: number, errorCode: string, at: Date): ReviewRequest => ({
      type: 'review.requested',
      kind: 'sync_failed',
      causeId,
      tenantId: ACME,
      appointmentIds: ['apt_intake_2'],
      errorCode,
      errorMessage: `failed with ${errorCode}`,
      attempts,
      at: at.toISOString(),
      detail: {},
    })
    const t0 = Date.now()
    await r.publishReview(report(4, 'calcom_timeout', new Date(t0)))
    const created = await eventually('the item', () => r.itemOf(causeId))
    await r.publishReview(report(2, 'calcom_bad_request', new Date(t0 + 1000)))
    const updated = await eventually('the updated item', async () => {
      const item = await r.itemOf(causeId)
      return item?.errorCode === 'calcom_bad_request' ? item : undefined
    })
    expect(updated).toMatchObject({ id: created.id, attempts: 2, errorMessage: 'failed with calcom_bad_request' })
    expect(updated.createdAt).toBe(created.createdAt)

    // An older report arriving late changes nothing.
    await r.publishReview(report(9, 'calcom_network_error', new Date(t0 + 500)))
    await idle()
    expect(await r.itemOf(causeId)).toMatchObject({ errorCode: 'calcom_bad_request', attempts: 2 })

    const resolved = await r.api(REVIEW_ADMIN_TOKEN, 'POST', `/v1/review-items/${created.id}/resolve`, {
      note: 'fixed the event type on Cal.com',
    })
    expect(resolved.statusCode).toBe(200)
    await r.publishReview(report(4, 'calcom_server_error', new Date(Date.now() + 1000)))
    const reopened = await eventually('the reopened item', async () => {
      const item = await r.itemOf(causeId)
      return item?.status === 'open' ? item : undefined
    })
    expect(reopened).toMatchObject({ errorCode: 'calcom_server_error', resolvedAt: null, note: null })
    expect(await itemsOf(causeId)).toHaveLength(1)
  })

  it('makes items of double bookings, unmapped event types and poison messages; a repeat stays as it is', async () => {
    const ids = ['apt_db_a', 'apt_db_b']
    await createReviewPublisher({ js: r.js, names: r.names }).doubleBooking(ACME, ids, { calcomBookingUid: 'bk_1' })
    const webhook = {
      triggerEvent: 'BOOKING_CREATED' as const,
      createdAt: new Date().toISOString(),
      payload: {
        uid: 'bk_unmapped_1',
        eventTypeId: 9999,
        startTime: '2030-01-07T10:00:00.000Z',
        endTime: '2030-01-07T10:30:00.000Z',
        attendees: [{ name: 'Ana', email: 'ana@example.org', timeZone: 'UTC' }],
      },
    }
    await createWebhookPublisher({ js: r.js, names: r.names, clock: () => new Date() }).unmapped(
      BRIGHT,
      'delivery-unmapped-1',
      webhook,
    )
    await createPoisonReporter({ js: r.js, names: r.names })({
      stream: r.names.streams.webhooks,
      consumer: r.names.consumers.appointmentsWebhooks,
      subject: r.names.subjects.webhook(ACME, 'BOOKING_CREATED'),
      data: new TextEncoder().encode('{"not":"a webhook"}'),
      issues: [{ path: '/type', message: 'is required' }],
      deliveryCount: 1,
      streamSequence: 42,
    })

    const doubleBooking = await eventually('the double_booking item', () =>
      r.itemOf(`double_booking:${ACME}:apt_db_a,apt_db_b`),
    )
    expect(doubleBooking).toMatchObject({
      tenantId: ACME,
      kind: 'double_booking',
      appointmentIds: ids,
      errorCode: 'slot_unavailable',
    })
    const unmapped = await eventually('the unmapped item', () => r.itemOf('unmapped:delivery-unmapped-1'))
    expect(unmapped).toMatchObject({
      tenantId: BRIGHT,
      kind: 'unmapped_event_type',
      appointmentIds: [],
      errorCode: 'unknown_event_type',
    })
    expect(unmapped.detail).toMatchObject({ eventTypeId: 9999, bookingUid: 'bk_unmapped_1' })
    const poison = await eventually('the poison item', () => r.itemOf(`poison:${r.names.streams.webhooks}:42`))
    expect(poison).toMatchObject({ tenantId: ACME, kind: 'poison_message', errorCode: 'invalid_message' })

    // Resolved, then reported again (another Nats-Msg-Id, newer time): one fixed fact, nothing changes.
    const doubleBookingCause = `double_booking:${ACME}:apt_db_a,apt_db_b`
    const resolved = await r.api(REVIEW_ADMIN_TOKEN, 'POST', `/v1/review-items/${doubleBooking.id}/resolve`, {
      note: 'moved one of them',
    })
    expect(resolved.statusCode).toBe(200)
    const [stored] = await storedRequests(doubleBookingCause)
    if (!stored) throw new Error('no double_booking request stored')
    const later = new Date(Date.now() + 60_000).toISOString()
    await r.publishReview({ ...stored.body, at: later, errorMessage: 'again' }, 'double-booking-again')
    expect(await storedRequests(doubleBookingCause)).toHaveLength(2)
    await idle()
    expect(await itemsOf(doubleBookingCause)).toHaveLength(1)
    expect(await r.itemOf(doubleBookingCause)).toMatchObject({
      status: 'resolved',
      note: 'moved one of them',
      errorMessage: doubleBooking.errorMessage,
    })
  })

  it('keeps a webhook with hostile keys in an item as it came, without making them field names in the database', async () => {
    // Cal.com payloads allow any extra field; a secret-holder can send keys MongoDB-wire stores refuse or misread.
    const hostile = JSON.parse(
      '{"$where":"1","a.b":{"$gt":""},"__proto__":{"polluted":true},"nested":[{"$x":[[1]]}],"\\u0000":"nul"}',
    ) as Record<string, unknown>
    const webhook = {
      triggerEvent: 'BOOKING_CREATED' as const,
      createdAt: new Date().toISOString(),
      payload: {
        uid: 'bk_hostile_keys_1',
        eventTypeId: 9998,
        startTime: '2030-01-08T10:00:00.000Z',
        endTime: '2030-01-08T10:30:00.000Z',
        attendees: [{ name: 'Ana', email: 'ana@example.org', timeZone: 'UTC', ...hostile }],
        ...hostile,
      },
    }
    await createWebhookPublisher({ js: r.js, names: r.names, clock: () => new Date() }).unmapped(
      ACME,
      'delivery-hostile-1',
      webhook,
    )
    const item = await eventually('the unmapped item', () => r.itemOf('unmapped:delivery-hostile-1'))
    const stored = (item.detail as { webhook: { payload: Record<string, unknown> } }).webhook.payload
    expect(Object.keys(stored)).toEqual(expect.arrayContaining(['$where', 'a.b', '__proto__', 'nested', '\u0000']))
    expect(stored['a.b']).toEqual({ $gt: '' })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    await idle()
  })

  it('turns a schema-invalid message on a review subject into a poison item, and goes on', async () => {
    const subject = r.names.subjects.review(ACME, 'sync_failed')
    const broken = await r.js.publish(subject, '{"type":"review.requested","kind":"sync_failed"}', {
      msgID: 'broken-1',
    })
    const garbage = await r.js.publish(subject, 'not json at all', { msgID: 'broken-2' })
    const valid: ReviewRequest = {
      type: 'review.requested',
      kind: 'sync_failed',
      causeId: `sync_failed:${ACME}:apt_after_poison`,
      tenantId: ACME,
      appointmentIds: ['apt_after_poison'],
      errorCode: 'calcom_bad_request',
      errorMessage: 'bad request',
      attempts: 1,
      at: new Date().toISOString(),
      detail: {},
    }
    await r.publishReview(valid)

    const poison = await eventually('the poison item', () => r.itemOf(`poison:${r.names.streams.review}:${broken.seq}`))
    expect(poison).toMatchObject({
      tenantId: ACME,
      kind: 'poison_message',
      errorCode: 'invalid_message',
      appointmentIds: [],
      status: 'open',
    })
    expect(poison.errorMessage).toContain('causeId is required')
    expect(poison.detail).toMatchObject({ subject, streamSequence: broken.seq })
    const notJson = await eventually('the second poison item', () =>
      r.itemOf(`poison:${r.names.streams.review}:${garbage.seq}`),
    )
    expect(notJson.errorMessage).toContain('not JSON')
    const next = await eventually('the valid item after the poison', () => r.itemOf(valid.causeId))
    expect(next).toMatchObject({ kind: 'sync_failed', appointmentIds: ['apt_after_poison'], status: 'open' })
  })

  it('opens one webhook_silence item per silence, resolves it when the cause ends, and a late report does not reopen it', async () => {
    const causeId = `webhook_silence:${BRIGHT}:2030-05-01T10:00:00.000Z`
    const report = (at: string, resolved: boolean): ReviewRequest => ({
      type: 'review.requested',
      kind: 'webhook_silence',
      causeId,
      tenantId: BRIGHT,
      appointmentIds: [],
      errorCode: 'webhook_silence',
      errorMessage: resolved ? 'resolved: webhooks flow again' : 'no Cal.com webhook accepted',
      attempts: 0,
      at,
      detail: { reason: 'no_webhooks' },
      ...(resolved ? { resolved: true } : {}),
    })
    // A resolution before anything was open changes nothing (its item never existed).
    await r.publishReview(report('2030-05-01T09:59:00.000Z', true))
    await r.publishReview(report('2030-05-01T10:00:00.000Z', false))
    await r.publishReview(report('2030-05-01T10:05:00.000Z', false))
    await idle()
    expect(await r.itemOf(causeId)).toMatchObject({ kind: 'webhook_silence', status: 'open', tenantId: BRIGHT })
    await r.publishReview(report('2030-05-01T10:10:00.000Z', true))
    await idle()
    expect(await r.itemOf(causeId)).toMatchObject({ status: 'resolved', note: 'resolved: webhooks flow again' })
    // A report older than the resolution (delivered late) leaves it resolved.
    await r.publishReview(report('2030-05-01T10:08:00.000Z', false))
    await idle()
    expect(await r.itemOf(causeId)).toMatchObject({ status: 'resolved' })
    expect(await itemsOf(causeId)).toHaveLength(1)
  })
})
