import {
  CALSYNC_METADATA,
  type ReconcileDifference,
  type ReviewRequest,
  type TenantReconcileReport,
} from '@calsync/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { createConformance, fetchValidDocument } from '../../../test/support/openapi.ts'
import { type Stack, startStack } from '../../../test/support/stack.ts'
import { readStream } from '../../../test/support/streams.ts'
import { ACME, futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { runReconcileCli } from '../../review/src/cli/reconcile-cli.ts'
import { createReconcileCommands } from '../../review/src/reconcile/reconcile-commands.ts'
import { REVIEW_ADMIN_TOKEN, startReviewHarness } from '../../review/test/support/review-harness.ts'
import { acmeWebhooks, customerBooks, customerCancels, customerMoves } from './defects/support.ts'

const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const patient = { name: 'Ola Berg', email: 'ola@example.org', timeZone: 'Europe/Oslo' }
const customerPerson = { name: 'Kim Lee', email: 'kim@example.org', timeZone: 'Europe/Oslo' }

// Slots of their own, a day apart from every other test file's.
const at = (hour: number, minute = 0) => futureSlot(17, hour, minute)

describe('the reconciler: calsync equals Cal.com again after webhooks were lost', () => {
  let s: Stack
  beforeAll(async () => {
    s = await startStack()
  })
  afterAll(async () => {
    await s?.close()
  })

  const api = (method: 'GET' | 'POST', url: string, body?: unknown) => s.appointments.api(ADMIN, method, url, body)

  const book = (start: string) => customerBooks(s, start, customerPerson)

  async function status(id: string) {
    return (await api('GET', `/v1/appointments/${id}/sync-status`)).json() as {
      status: string
      calcomBookingUid: string | null
    }
  }
  const synced = (id: string) =>
    eventually(`${id} synced`, async () => {
      const current = await status(id)
      return current.status === 'synced' ? current : undefined
    })
  async function settled() {
    await s.sandbox.flushWebhooks()
    await eventually('the consumers to drain', async () => ((await s.appointments.consumersIdle()) ? true : undefined))
    await s.appointments.components.relay.runOnce()
    await eventually('the consumers to drain', async () => ((await s.appointments.consumersIdle()) ? true : undefined))
  }
  async function appointments() {
    return (await api('GET', `/v1/appointments?limit=200`)).json().items as Array<{
      id: string
      origin: string
      status: string
      start: string
      calcomBookingUid: string | null
    }>
  }
  const commands = () => createReconcileCommands({ nc: s.appointments.nc, names: s.names, timeoutMs: 60_000 })
  async function reconcile(dryRun: boolean): Promise<TenantReconcileReport> {
    const reply = await commands().reconcile({
      type: 'calcom_sync.reconcile',
      tenantId: ACME,
      dryRun,
      requestedBy: 'test',
    })
    expect(reply.tenants).toHaveLength(1)
    const report = reply.tenants[0] as TenantReconcileReport
    expect(report.error).toBeUndefined()
    return report
  }
  const brief = (differences: ReconcileDifference[]) =>
    differences.map((difference) => `${difference.kind} ${difference.uid ?? difference.appointmentId}`).sort()

  it('finds what webhooks never told, lists it in a dry run without acting, then repairs it in one pass', async () => {
    // Known to calsync while webhooks still flow: two local appointments and a customer booking.
    const cancelledOnCalcom = (
      await api('POST', '/v1/appointments', { eventTypeId: 1001, start: at(8), attendee: patient })
    ).json()
    const deletedOnCalcom = (
      await api('POST', '/v1/appointments', { eventTypeId: 1001, start: at(9), attendee: patient })
    ).json()
    const localBooking = (await synced(cancelledOnCalcom.id)).calcomBookingUid as string
    const deletedBooking = (await synced(deletedOnCalcom.id)).calcomBookingUid as string
    const movedLater = await book(at(10))
    await settled()
    const before = await appointments()
    const moved = before.find((item) => item.calcomBookingUid === movedLater.uid)
    expect(moved).toBeDefined()

    // A local appointment whose create Cal.com refused: a customer took its slot meanwhile.
    await s.stopSync()
    const collided = (
      await api('POST', '/v1/appointments', { eventTypeId: 1001, start: at(14), attendee: patient })
    ).json()

    // Webhooks off (a subscription Cal.com switched off): nothing below reaches calsync.
    acmeWebhooks(s, false)
    const unknownBooking = await book(at(11))
    const movedTo = await customerMoves(s, movedLater.uid, at(12))
    await customerCancels(s, localBooking)
    expect(s.sandbox.deleteBooking(deletedBooking)).toBe(true)
    const takenSlot = await book(at(14))
    const endedBooking = await book(at(15))
    await customerCancels(s, endedBooking.uid)
    await s.startSync()
    await eventually('the refused create to end its sync', async () =>
      ['failed', 'conflict'].includes((await status(collided.id)).status) ? true : undefined,
    )
    await settled()

    const expected = [
      `missed_create ${unknownBooking.uid}`,
      `missed_create ${takenSlot.uid}`,
      `missed_reschedule ${movedTo.uid}`,
      `missed_cancel ${localBooking}`,
      `missing_on_calcom ${deletedBooking}`,
    ].sort()

    const requestsBefore = s.sandbox.requests().length
    const beforeDry = await appointments()
    expect(beforeDry).toHaveLength(before.length + 1) // only the local `collided` is new
    const plan = await reconcile(true)
    expect(brief(plan.differences)).toEqual(expected)
    expect(plan.differences.every((difference) => !difference.done)).toBe(true)
    // A dry run reads Cal.com and changes nothing anywhere.
    expect(
      s.sandbox
        .requests()
        .slice(requestsBefore)
        .every((request) => request.method === 'GET'),
    ).toBe(true)
    await settled()
    expect(await appointments()).toEqual(beforeDry)

    const done = await reconcile(false)
    expect(brief(done.differences)).toEqual(expected)
    expect(done.differences.every((difference) => difference.done)).toBe(true)
    await settled()
    await synced(deletedOnCalcom.id)
    await settled()

    const after = await appointments()
    const byUid = (uid: string) => after.find((item) => item.calcomBookingUid === uid)
    expect(byUid(unknownBooking.uid)).toMatchObject({ origin: 'calcom', status: 'booked', start: at(11) })
    expect(after.find((item) => item.id === moved?.id)).toMatchObject({ start: at(12), calcomBookingUid: movedTo.uid })
    expect(after.find((item) => item.id === cancelledOnCalcom.id)).toMatchObject({ status: 'cancelled' })
    // The deleted booking's appointment was re-driven: a new booking, found (not blindly created twice).
    const redriven = await status(deletedOnCalcom.id)
    expect(redriven.calcomBookingUid).not.toBe(deletedBooking)
    const active = s.sandbox
      .bookings(ACME)
      .filter(
        (booking) =>
          booking.status === 'accepted' && booking.metadata[CALSYNC_METADATA.appointmentId] === deletedOnCalcom.id,
      )
    expect(active.map((booking) => booking.uid)).toEqual([redriven.calcomBookingUid])
    // The customer's booking of the slot the local appointment holds: a double booking, reported (I1, I2).
    const customerCopy = byUid(takenSlot.uid)
    expect(customerCopy).toMatchObject({ origin: 'calcom', start: at(14) })
    expect((await status(collided.id)).status).toBe('conflict')
    expect((await status(customerCopy?.id as string)).status).toBe('conflict')
    const reviews = await readStream<ReviewRequest>(s.appointments.jsm, s.names.streams.review)
    const doubles = reviews.filter((message) => message.body.kind === 'double_booking')
    expect(
      doubles.some(
        (message) =>
          message.body.appointmentIds.includes(collided.id) &&
          message.body.appointmentIds.includes(customerCopy?.id as string),
      ),
    ).toBe(true)
    // No booking calsync never had is in the book; the ended one never became an appointment.
    expect(after.some((item) => item.calcomBookingUid === endedBooking.uid)).toBe(false)

    // Calsync equals Cal.com: the next pass finds nothing to do but the double booking it reported.
    const again = await reconcile(true)
    expect(brief(again.differences)).toEqual([])
  })

  it('answers POST /v1/reconcile and npm run reconcile through the review service, scoped to the token', async () => {
    const review = await startReviewHarness({ names: s.names })
    try {
      await review.app.listen({ host: '127.0.0.1', port: 0 })
      const url = `http://127.0.0.1:${(review.app.server.address() as { port: number }).port}`
      const out: string[] = []
      const err: string[] = []
      const io = { out: (text: string) => out.push(text), err: (text: string) => err.push(text) }
      const env = { CALSYNC_ADMIN_TOKEN: REVIEW_ADMIN_TOKEN }
      expect(await runReconcileCli(['--tenant', ACME, '--dry-run', '--url', url], env, io)).toBe(0)
      const answer = JSON.parse(out.join(''))
      expect(answer.tenants).toEqual([expect.objectContaining({ tenantId: ACME, dryRun: true, differencesTotal: 0 })])
      expect(err).toEqual([])
      // A tenant's token reconciles its own tenant; another's id is answered as if unknown.
      const own = await review.app.inject({
        method: 'POST',
        url: '/v1/reconcile',
        headers: { authorization: `Bearer ${ADMIN}` },
        payload: { dryRun: true },
      })
      expect(own.statusCode).toBe(200)
      expect(own.json().tenants.map((tenant: { tenantId: string }) => tenant.tenantId)).toEqual([ACME])
      // The review API's document states the plan exactly as the reconciler answers it.
      const expectConforms = createConformance(await fetchValidDocument(review.app))
      expectConforms('POST', '/v1/reconcile', own)
      const foreign = await review.app.inject({
        method: 'POST',
        url: '/v1/reconcile',
        headers: { authorization: `Bearer ${ADMIN}` },
        payload: { tenantId: 'bright-smiles', dryRun: true },
      })
      expect(foreign.statusCode).toBe(404)
      expectConforms('POST', '/v1/reconcile', foreign)
      const bad = await review.app.inject({
        method: 'POST',
        url: '/v1/reconcile',
        headers: { authorization: `Bearer ${ADMIN}` },
        payload: { dryRun: 'yes' },
      })
      expect(bad.statusCode).toBe(400)
      expectConforms('POST', '/v1/reconcile', bad)
      expect(await runReconcileCli(['--tenant', '', '--url', url], env, io)).toBe(2)
    } finally {
      await review.close()
    }
  })
})
