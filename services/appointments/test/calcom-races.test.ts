import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook } from '../../../test/support/calcom-webhooks.ts'
import { eventually } from '../../../test/support/infra.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import type { EventDoc } from '../src/appointments/appointments-store.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'

const ACME = 'acme-dental'
const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const attendee = { name: 'Dana Reyes', email: 'dana@example.org', timeZone: 'Europe/Berlin' }

describe('Cal.com webhooks that overlap or cannot be read', () => {
  let h: AppointmentsHarness
  /** What runs right before the next event insert, while its writer holds its lock. */
  let beforeEventWrite: ((event: EventDoc) => Promise<void>) | undefined
  beforeAll(async () => {
    h = await startAppointmentsHarness({ components: { beforeEventWrite: (event) => beforeEventWrite?.(event) } })
  })
  afterAll(() => h.close())

  async function settle() {
    await eventually('the consumers to drain', async () => ((await h.consumersIdle()) ? true : undefined))
    await h.components.relay.runOnce()
  }

  async function byUid(uid: string) {
    const list = (await h.api(ADMIN, 'GET', '/v1/appointments?limit=200')).json()
    return list.items.filter((item: { calcomBookingUid: string }) => item.calcomBookingUid === uid)
  }

  /** A local appointment and a Cal.com booking of the same slot, both kept and settled. */
  async function doubleBooked(day: number, uid: string) {
    const local = (
      await h.api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1002, start: futureSlot(day, 10), attendee })
    ).json()
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_CREATED', { uid, eventTypeId: 1002, start: futureSlot(day, 10) }),
    )
    const [remote] = await eventually('the Cal.com booking', async () => {
      const found = await byUid(uid)
      return found.length === 1 ? found : undefined
    })
    await settle()
    return { local, remote }
  }

  it('keeps both bookings of a race, marks both conflict and asks for one review (I2)', async () => {
    const local = (
      await h.api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1001, start: futureSlot(3, 10), attendee })
    ).json()
    const webhook = bookingWebhook('BOOKING_CREATED', {
      uid: 'race-1',
      eventTypeId: 1001,
      start: futureSlot(3, 10, 15),
    })
    await h.deliverWebhook(ACME, webhook)
    const [remote] = await eventually('the Cal.com booking', async () => {
      const found = await byUid('race-1')
      return found.length === 1 ? found : undefined
    })
    await h.deliverWebhook(ACME, webhook)
    await settle()
    const remoteNow = (await h.api(ADMIN, 'GET', `/v1/appointments/${remote.id}`)).json()
    expect(remoteNow.sync, JSON.stringify(remoteNow)).toMatchObject({ status: 'conflict', requiresManualReview: true })
    const localNow = (await h.api(ADMIN, 'GET', `/v1/appointments/${local.id}`)).json()
    expect(localNow.sync).toMatchObject({ status: 'conflict', requiresManualReview: true })
    const reviews = await eventually('the review request', async () => {
      const found = (await h.reviews()).filter((message) => message.body.kind === 'double_booking')
      return found.length > 0 ? found : undefined
    })
    expect(reviews).toHaveLength(1)
    expect(reviews[0]?.body.appointmentIds.sort()).toEqual([local.id, remote.id].sort())
    expect(reviews[0]?.subject).toBe(h.names.subjects.review(ACME, 'double_booking'))
  })

  it('keeps a double booking visible whatever is written to the sync state, until a new change ends it', async () => {
    const { local, remote } = await doubleBooked(13, 'race-kept')
    // What FerretDB can do when a sync result is written while the conflict is found: the state
    // document ends with the sync result's status. The double booking must not disappear with it.
    await h.components.store.syncStates.updateOne({ _id: local.id }, { $set: { status: 'failed' } })
    const localNow = (await h.api(ADMIN, 'GET', `/v1/appointments/${local.id}/sync-status`)).json()
    expect(localNow).toMatchObject({ status: 'conflict', requiresManualReview: true })
    const request = { type: 'appointments.resync', tenantId: ACME, olderThanSeconds: 0, requestedBy: 'test' } as const
    const dry = await h.components.resync.resync({ ...request, dryRun: true })
    expect(dry.appointmentIds).not.toContain(local.id)
    const since = new Date(Date.now() - 3_600_000).toISOString()
    const stats = await h.components.resync.syncStats({ type: 'appointments.sync_stats', tenantId: ACME, since })
    const conflicted = (await h.api(ADMIN, 'GET', '/v1/appointments?limit=200'))
      .json()
      .items.filter((item: { sync: { status: string } }) => item.sync.status === 'conflict')
    expect(conflicted.map((item: { id: string }) => item.id)).toEqual(expect.arrayContaining([local.id, remote.id]))
    expect(stats.conflict).toBe(conflicted.length)

    // The operator moves the local appointment: a new version, no longer double-booked.
    const moved = await h.api(ADMIN, 'POST', `/v1/appointments/${local.id}/reschedule`, { start: futureSlot(13, 14) })
    expect(moved.statusCode, moved.body).toBe(200)
    const after = (await h.api(ADMIN, 'GET', `/v1/appointments/${local.id}/sync-status`)).json()
    expect(after.status).toBe('pending')
    expect((await h.api(ADMIN, 'GET', `/v1/appointments/${remote.id}/sync-status`)).json().status).toBe('conflict')
  })

  it('keeps a double booking when a second writer of the same version loses (a copy of the webhook)', async () => {
    const { local, remote } = await doubleBooked(14, 'race-copy')
    // A copy resolved before the first one linked the uid writes the same first version again: it
    // finds the marks the first made, and its event insert loses. Its undo must not take them along.
    const first = await h.components.store.event(remote.id, 1)
    if (!first) throw new Error('the first version was not written')
    const lost = h.components.locks.withLock(remote.id, { waitMs: 5_000 }, (lock) =>
      h.components.writer.write(lock, {
        previous: undefined,
        next: first.snapshot,
        initiatedBy: first.initiatedBy,
        mode: 'keep-both',
      }),
    )
    await expect(lost).rejects.toThrow()
    for (const id of [local.id, remote.id]) {
      const state = (await h.api(ADMIN, 'GET', `/v1/appointments/${id}/sync-status`)).json()
      expect(state, id).toMatchObject({ status: 'conflict', requiresManualReview: true })
    }
  })

  it('keeps the slot of a Cal.com booking whose partner moves away after the mark, before its commit (I1)', async () => {
    const day = 15
    const slot = futureSlot(day, 10)
    const local = (await h.api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1002, start: slot, attendee })).json()
    let moved = false
    beforeEventWrite = async (event) => {
      if (event.origin !== 'calcom' || moved) return
      moved = true
      // The booking has marked the local appointment as its partner; the partner now moves away.
      const answer = await h.api(ADMIN, 'POST', `/v1/appointments/${local.id}/reschedule`, {
        start: futureSlot(day, 14),
      })
      expect(answer.statusCode, answer.body).toBe(200)
    }
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_CREATED', { uid: 'race-moved-away', eventTypeId: 1002, start: slot }),
    )
    await eventually('the Cal.com booking', async () =>
      (await byUid('race-moved-away')).length === 1 ? true : undefined,
    )
    await settle()
    beforeEventWrite = undefined
    expect(moved).toBe(true)
    // The booking holds its slot: nothing else is booked on it unflagged.
    const again = await h.api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1002, start: slot, attendee })
    expect(again.statusCode, again.body).toBe(409)
  })

  it('sends a schema-invalid message to review and keeps consuming', async () => {
    const { publishMessage } = await import('@calsync/service-kit')
    await publishMessage(
      h.js,
      h.names.subjects.webhook(ACME, 'BOOKING_CREATED'),
      { type: 'garbage' },
      { msgId: 'poison-1' },
    )
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_CREATED', { uid: 'after-poison', eventTypeId: 1001, start: futureSlot(4, 9) }),
    )
    await eventually('the next message to be applied', async () =>
      (await byUid('after-poison')).length === 1 ? true : undefined,
    )
    const poison = await eventually('the poison review', async () => {
      const found = (await h.reviews()).filter((message) => message.body.kind === 'poison_message')
      return found.length === 1 ? found : undefined
    })
    expect(poison[0]?.body).toMatchObject({ tenantId: ACME, errorCode: 'invalid_message' })
  })
})
