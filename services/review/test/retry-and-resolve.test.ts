import type { AppointmentEvent } from '@calsync/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { ACME, futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from '../../appointments/test/support/harness.ts'
import { createSyncReporter } from '../../calcom-sync/src/sync/sync-reporter.ts'
import type { ReviewItemView } from '../src/items/review-item.ts'
import { REVIEW_ADMIN_TOKEN, type ReviewHarness, startReviewHarness } from './support/review-harness.ts'

const attendee = { name: 'Lee', email: 'lee@example.org', timeZone: 'UTC' }

describe('retrying and resolving review items', () => {
  let h: AppointmentsHarness
  let r: ReviewHarness
  beforeAll(async () => {
    h = await startAppointmentsHarness()
    r = await startReviewHarness({ names: h.names })
  })
  afterAll(async () => {
    await r?.close()
    await h?.close()
  })

  const reporter = () => createSyncReporter({ js: h.js, names: h.names })
  const causeOf = (appointmentId: string) => `sync_failed:${ACME}:${appointmentId}`

  /** An appointment booked through the appointments API whose sync then failed for good, as calcom-sync reports it. */
  async function bookAndFail(hour: number) {
    const created = await h.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'POST', '/v1/appointments', {
      eventTypeId: 1001,
      start: futureSlot(2, hour),
      attendee,
    })
    expect(created.statusCode).toBe(201)
    const id: string = created.json().id
    const booked = await eventually('the booked event', async () => (await h.events(id))[0])
    await reporter().failed(booked.body, 4, 'calcom_server_error', 'Cal.com answered 503', null)
    const item = await eventually('the review item', () => r.itemOf(causeOf(id)))
    return { id, item, booked: booked.body }
  }

  async function redriveOf(id: string): Promise<AppointmentEvent> {
    const event = await eventually('the sync_requested event', async () =>
      (await h.events(id)).find((message) => message.body.type === 'appointment.sync_requested'),
    )
    return event.body
  }

  async function noRedriveYet(id: string): Promise<boolean> {
    return (await h.events(id)).every((message) => message.body.type !== 'appointment.sync_requested')
  }

  const itemWhere = (cause: string, what: string, test: (item: ReviewItemView) => boolean) =>
    eventually(what, async () => {
      const item = await r.itemOf(cause)
      return item && test(item) ? item : undefined
    })

  it('re-drives the sync on retry; the item resolves by itself when the sync succeeds', async () => {
    const { id, item } = await bookAndFail(9)
    expect(await noRedriveYet(id)).toBe(true)

    const retried = await r.api(REVIEW_ADMIN_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)
    expect(retried.statusCode).toBe(200)
    expect(retried.json()).toMatchObject({
      dispatched: 1,
      item: { id: item.id, status: 'open', retry: { outcome: 'pending', dispatched: 1 } },
    })
    const redrive = await redriveOf(id)
    expect(redrive).toMatchObject({ appointmentId: id, tenantId: ACME, version: 1 })
    expect((await r.itemOf(causeOf(id)))?.status).toBe('open')

    await reporter().succeeded(redrive, 1, 'bk_retried_1')
    const resolved = await itemWhere(causeOf(id), 'the item resolved by the sync', (i) => i.status === 'resolved')
    expect(resolved).toMatchObject({ note: 'resolved: sync succeeded', retry: { outcome: 'succeeded' } })
    expect(Date.parse(resolved.resolvedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(item.createdAt))
    const open = await r.api(REVIEW_ADMIN_TOKEN, 'GET', '/v1/review-items?status=open')
    expect(open.json().items.map((i: ReviewItemView) => i.id)).not.toContain(item.id)
    const status = await eventually<{ calcomBookingUid: string | null }>('the appointment synced', async () => {
      const response = await h.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'GET', `/v1/appointments/${id}/sync-status`)
      return response.json().status === 'synced' ? response.json() : undefined
    })
    expect(status.calcomBookingUid).toBe('bk_retried_1')
  })

  it('records a retry that failed again on the item, which stays open', async () => {
    const { id, item } = await bookAndFail(11)
    const retried = await r.api(REVIEW_ADMIN_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)
    expect(retried.statusCode).toBe(200)
    const redrive = await redriveOf(id)
    await reporter().failed(redrive, 4, 'calcom_bad_request', 'Cal.com refused the booking', null)
    const after = await itemWhere(causeOf(id), 'the failed retry', (i) => i.retry?.outcome === 'failed')
    expect(after).toMatchObject({
      id: item.id,
      status: 'open',
      errorCode: 'calcom_bad_request',
      errorMessage: 'Cal.com refused the booking',
      attempts: 4,
      resolvedAt: null,
    })
    expect(after.retry?.outcomeAt).not.toBeNull()
  })

  it('resolves by itself on a later successful sync even without a retry, but not on an older one', async () => {
    const { id, item, booked } = await bookAndFail(13)
    const older = new Date(Date.parse(item.createdAt) - 60_000)
    await createSyncReporter({ js: h.js, names: h.names, clock: () => older }).succeeded(booked, 1, 'bk_old')
    await eventually('review consumers idle', async () => ((await r.consumersIdle()) ? true : undefined))
    expect((await r.itemOf(causeOf(id)))?.status).toBe('open')
    await reporter().succeeded({ ...booked, eventId: `${booked.eventId}:later` }, 1, 'bk_new')
    const resolved = await itemWhere(causeOf(id), 'the resolved item', (i) => i.status === 'resolved')
    expect(resolved.retry).toBeNull()
  })

  it('resolves with a required note and records when; a resolved item takes no second resolve or retry', async () => {
    const { item } = await bookAndFail(15)
    const url = `/v1/review-items/${item.id}/resolve`
    for (const body of [{}, { note: '' }, { note: '   ' }, { note: 'x'.repeat(2001) }, { note: 'ok', extra: 1 }]) {
      const refused = await r.api(REVIEW_ADMIN_TOKEN, 'POST', url, body)
      expect(refused.statusCode, JSON.stringify(body)).toBe(400)
      expect(refused.json().error).toBe('bad_request')
    }
    const before = Date.now()
    const resolved = await r.api(REVIEW_ADMIN_TOKEN, 'POST', url, { note: 'Booked on Cal.com by hand; customer told' })
    expect(resolved.statusCode).toBe(200)
    expect(resolved.json()).toMatchObject({
      id: item.id,
      status: 'resolved',
      note: 'Booked on Cal.com by hand; customer told',
    })
    expect(Date.parse(resolved.json().resolvedAt)).toBeGreaterThanOrEqual(before - 1000)
    const read = await r.api(REVIEW_ADMIN_TOKEN, 'GET', `/v1/review-items/${item.id}`)
    expect(read.json()).toMatchObject({ status: 'resolved', note: 'Booked on Cal.com by hand; customer told' })
    const listed = await r.api(REVIEW_ADMIN_TOKEN, 'GET', '/v1/review-items?status=resolved')
    expect(listed.json().items.map((i: ReviewItemView) => i.id)).toContain(item.id)

    const again = await r.api(REVIEW_ADMIN_TOKEN, 'POST', url, { note: 'twice' })
    expect(again.statusCode).toBe(409)
    expect(again.json().error).toBe('conflict')
    const retry = await r.api(REVIEW_ADMIN_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)
    expect(retry.statusCode).toBe(409)
  })

  it('answers 409 to a retry of an item that names no appointment', async () => {
    await r.publishReview({
      type: 'review.requested',
      kind: 'unmapped_event_type',
      causeId: 'unmapped:retry-test',
      tenantId: ACME,
      appointmentIds: [],
      errorCode: 'unknown_event_type',
      errorMessage: 'Cal.com event type 4242 belongs to no tenant',
      attempts: 0,
      at: new Date().toISOString(),
      detail: {},
    })
    const item = await eventually('the unmapped item', () => r.itemOf('unmapped:retry-test'))
    const retry = await r.api(REVIEW_ADMIN_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)
    expect(retry.statusCode).toBe(409)
    expect(retry.json()).toEqual({ error: 'conflict', message: expect.stringContaining('nothing to retry') })
  })
})
