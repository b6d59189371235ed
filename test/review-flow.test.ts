import { randomBytes } from 'node:crypto'
import type { ReviewRequest } from '@calsync/contracts'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  REVIEW_ADMIN_TOKEN,
  type ReviewHarness,
  startReviewHarness,
} from '../services/review/test/support/review-harness.ts'
import { bookingWebhook, signCalcom } from './support/calcom-webhooks.ts'
import { eventually } from './support/infra.ts'
import { type Stack, startStack } from './support/stack.ts'
import { futureSlot, TEST_SECRETS } from './support/tenants.ts'

const ACME_ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const BRIGHT_API = TEST_SECRETS.BRIGHT_API_TOKEN
const attendee = { name: 'Ines Roth', email: 'ines@example.org', timeZone: 'UTC' }

interface ItemView {
  id: string
  kind: string
  tenantId: string
  appointmentIds: string[]
  errorCode: string
  errorMessage: string
  attempts: number
  status: string
  resolvedAt: string | null
  note: string | null
}

/**
 * The review queue with everything real around it: the sandbox failing and recovering, signed
 * webhooks through the gateway, calcom-sync's consumer, and the appointments service answering
 * resync commands.
 */
describe('the review queue end to end', () => {
  let stack: Stack
  let r: ReviewHarness
  beforeAll(async () => {
    stack = await startStack({ backoffMs: [50, 100, 150] })
    r = await startReviewHarness({ names: stack.names })
  })
  afterAll(async () => {
    await r?.close()
    await stack?.close()
  })
  beforeEach(() => stack.sandbox.reset())

  const create = async (token: string, eventTypeId: number, day: number, hour: number) => {
    const response = await stack.appointments.api(token, 'POST', '/v1/appointments', {
      eventTypeId,
      start: futureSlot(day, hour),
      attendee,
    })
    expect(response.statusCode, response.body).toBe(201)
    return response.json() as { id: string }
  }
  const syncStatus = async (token: string, id: string) =>
    (await stack.appointments.api(token, 'GET', `/v1/appointments/${id}/sync-status`)).json()
  const settled = (token: string, id: string, status: string) =>
    eventually(`appointment ${id} ${status}`, async () => {
      const current = await syncStatus(token, id)
      return current.status === status ? current : undefined
    })
  const openItems = async (kind: string, token = REVIEW_ADMIN_TOKEN): Promise<ItemView[]> => {
    const response = await r.api(token, 'GET', `/v1/review-items?status=open&kind=${kind}`)
    expect(response.statusCode, response.body).toBe(200)
    return response.json().items
  }
  const itemWith = (kind: string, match: (item: ItemView) => boolean) =>
    eventually(`an open ${kind} item`, async () => (await openItems(kind)).find(match))
  const reviewIdle = () =>
    eventually('review consumers idle', async () => ((await r.consumersIdle()) ? true : undefined))
  const deliverWebhook = (body: unknown, secret = TEST_SECRETS.ACME_WEBHOOK_SECRET) => {
    const text = JSON.stringify(body)
    return fetch(`${stack.gatewayUrl}/webhooks/calcom/acme-dental`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cal-signature-256': signCalcom(text, secret) },
      body: text,
    })
  }

  it('turns four 500s into one sync_failed item; a retry against a healthy Cal.com syncs it and resolves the item', async () => {
    stack.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { status: 500 }, 4)
    const { id } = await create(ACME_ADMIN, 1001, 20, 9)
    const item = await itemWith('sync_failed', (candidate) => candidate.appointmentIds.includes(id))
    expect(item).toMatchObject({
      tenantId: 'acme-dental',
      errorCode: 'calcom_server_error',
      errorMessage: expect.stringMatching(/500/),
      attempts: 4,
      status: 'open',
    })
    expect(await syncStatus(ACME_ADMIN, id)).toMatchObject({ status: 'failed', requiresManualReview: true })

    // The same failure delivered again (as a republish after a crash would be): still one item.
    const [report] = (await stack.appointments.reviews()).filter(
      (message) => message.body.kind === 'sync_failed' && message.body.appointmentIds.includes(id),
    )
    if (!report) throw new Error('calcom-sync sent no review request')
    await r.publishReview(report.body as ReviewRequest, randomBytes(8).toString('hex'))
    await reviewIdle()
    expect((await openItems('sync_failed')).filter((candidate) => candidate.appointmentIds.includes(id))).toHaveLength(
      1,
    )

    // Cal.com is healthy again (the four faults are used up): the operator retries.
    const retry = await r.api(REVIEW_ADMIN_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)
    expect(retry.statusCode, retry.body).toBe(200)
    await settled(ACME_ADMIN, id, 'synced')
    const resolved = await eventually('the item resolved by the successful sync', async () => {
      const current = (await r.api(REVIEW_ADMIN_TOKEN, 'GET', `/v1/review-items/${item.id}`)).json()
      return current.status === 'resolved' ? current : undefined
    })
    expect(resolved.resolvedAt).toEqual(expect.any(String))
    const bookings = stack.sandbox.bookings().filter((booking) => booking.status !== 'cancelled')
    expect(bookings.filter((booking) => JSON.stringify(booking.metadata).includes(id))).toHaveLength(1)
  })

  it('makes items of a double booking race and of an unmapped event type; resolve records the note and time', async () => {
    const local = await create(ACME_ADMIN, 1001, 21, 10)
    // Cal.com sold the same slot before calsync's booking reached it.
    const race = await deliverWebhook(
      bookingWebhook('BOOKING_CREATED', {
        uid: `race-${randomBytes(4).toString('hex')}`,
        eventTypeId: 1001,
        start: futureSlot(21, 10),
      }),
    )
    expect(race.status).toBe(202)
    const double = await itemWith('double_booking', (candidate) => candidate.appointmentIds.includes(local.id))
    expect(double.appointmentIds).toHaveLength(2)
    expect(double.tenantId).toBe('acme-dental')

    const unmappedUid = `unmapped-${randomBytes(4).toString('hex')}`
    const unmapped = await deliverWebhook(
      bookingWebhook('BOOKING_CREATED', { uid: unmappedUid, eventTypeId: 987_654, start: futureSlot(21, 12) }),
    )
    expect(unmapped.status).toBe(202)
    const unmappedItem = await itemWith('unmapped_event_type', (candidate) =>
      JSON.stringify(candidate).includes('acme-dental'),
    )
    expect(unmappedItem).toMatchObject({ tenantId: 'acme-dental', errorCode: 'unknown_event_type' })

    const note = 'called both patients; Dr Jones takes the second at 11:00'
    const resolve = await r.api(REVIEW_ADMIN_TOKEN, 'POST', `/v1/review-items/${double.id}/resolve`, { note })
    expect(resolve.statusCode, resolve.body).toBe(200)
    const after = (await r.api(REVIEW_ADMIN_TOKEN, 'GET', `/v1/review-items/${double.id}`)).json()
    expect(after).toMatchObject({ status: 'resolved', note, resolvedAt: expect.any(String) })
    expect(Date.parse(after.resolvedAt)).toBeGreaterThan(Date.now() - 60_000)
  })

  it('turns a schema-invalid message on calcom-sync’s subject into a poison item, and the worker goes on', async () => {
    const subject = stack.names.subjects.appointmentEvent('acme-dental', 'booked')
    await stack.appointments.js.publish(subject, JSON.stringify({ type: 'appointment.booked', garbage: true }), {
      msgID: `poison-${randomBytes(6).toString('hex')}`,
    })
    const poison = await itemWith('poison_message', (candidate) => candidate.tenantId === 'acme-dental')
    expect(poison.errorCode).toEqual(expect.any(String))

    const { id } = await create(ACME_ADMIN, 1002, 22, 9)
    await settled(ACME_ADMIN, id, 'synced')
  })

  it('re-syncs appointments stuck pending while the worker was stopped: a dry run lists them, the real run syncs them', async () => {
    await stack.stopSync()
    const stuck = [
      await create(BRIGHT_API, 2001, 23, 9),
      await create(BRIGHT_API, 2001, 23, 10),
      await create(BRIGHT_API, 2001, 23, 11),
    ]
    const ids = stuck.map((appointment) => appointment.id).sort()
    for (const id of ids) expect((await syncStatus(BRIGHT_API, id)).status).toBe('pending')
    // Their events are lost (as if they had been terminated): only the resync can bring them to Cal.com.
    for (const id of ids) await eventually(`the event of ${id}`, async () => (await stack.appointments.events(id))[0])
    await stack.appointments.jsm.streams.purge(stack.names.streams.appointments, {
      filter: stack.names.subjects.appointmentEvent('bright-smiles', '>'),
    })

    const dry = await r.api(BRIGHT_API, 'POST', '/v1/resync', { olderThanSeconds: 0, dryRun: true })
    expect(dry.statusCode, dry.body).toBe(200)
    expect({ ...dry.json(), appointmentIds: [...dry.json().appointmentIds].sort() }).toEqual({
      matched: 3,
      appointmentIds: ids,
      dispatched: 0,
    })
    expect(stack.sandbox.bookings()).toHaveLength(0)

    await stack.startSync()
    await eventually('the worker idle', async () => {
      const info = await stack.appointments.jsm.consumers.info(
        stack.names.streams.appointments,
        stack.names.consumers.calcomSync,
      )
      return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined
    })
    expect((await syncStatus(BRIGHT_API, ids[0] as string)).status).toBe('pending')
    const real = await r.api(BRIGHT_API, 'POST', '/v1/resync', { olderThanSeconds: 0, dryRun: false })
    expect(real.statusCode, real.body).toBe(200)
    expect(real.json()).toMatchObject({ matched: 3, dispatched: 3 })
    for (const id of ids) await settled(BRIGHT_API, id, 'synced')
    expect(stack.sandbox.bookings().filter((booking) => booking.status !== 'cancelled')).toHaveLength(3)
  })
})
