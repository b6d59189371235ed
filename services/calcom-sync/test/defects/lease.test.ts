// Defects 2 and 7: one worker at a time per appointment, for the whole of a sync. Adopting a
// Cal.com-origin version must not undo what a newer sync in progress may have done, and a long
// sync must keep its lease and its message, so no second instance syncs the appointment meanwhile.
import { describe, expect, it } from 'vitest'
import { eventually } from '../../../../test/support/infra.ts'
import { type Stack, startStack } from '../../../../test/support/stack.ts'
import { futureSlot } from '../../../../test/support/tenants.ts'
import * as defects from './support.ts'

describe('one sync at a time per appointment', () => {
  const held = defects.perTest()

  async function twoInstances(s: Stack, overrides: defects.SyncOverrides) {
    for (const name of ['a', 'b']) held.instances.push(await defects.startSyncInstance(s, name, overrides))
  }

  /** Stops both instances; each first finishes what it is doing (a message JetStream gave to the other included). */
  async function stopInstances() {
    for (const instance of held.instances.splice(0)) await instance.stop()
  }

  it('defect 2: adopting an older Cal.com-origin version during a newer sync leaves Cal.com and the mapping at the newest version', async () => {
    // v3 (defects.staff move to T3) is in flight, its answer to be lost, when the late calcom-origin v2 is adopted.
    const s = await startStack({ startSync: false })
    held.stack = s
    // The versions are published here by hand; no webhook of Cal.com's may make others.
    defects.acmeWebhooks(s, false)
    await twoInstances(s, { calcomTimeoutMs: 1000, backoffMs: [2500, 2500, 2500], leaseTtlMs: 2000 })
    const [t1, t3] = [futureSlot(0, 9), futureSlot(0, 13)]
    const appointment = defects.handmadeAppointment()
    const { id } = appointment

    await defects.publishEvent(s, appointment.version(1, { type: 'appointment.booked', start: t1 }))
    const v1 = await defects.untilResult(s, id, 1)
    const u1 = v1.type === 'sync.succeeded' ? v1.calcomBookingUid : null
    expect(u1).toEqual(expect.any(String))

    // Cal.com commits v3's move only after the client gave up waiting (1 s): a lost answer.
    s.sandbox.addFault({ method: 'POST', path: defects.RESCHEDULE_PATH }, { delayMs: 2500 }, 1)
    await defects.publishEvent(
      s,
      appointment.version(3, { type: 'appointment.rescheduled', start: t3, calcomBookingUid: u1 }),
    )
    await eventually('v3’s move to reach Cal.com', async () =>
      s.sandbox.requests().find((request) => request.path === `/v2/bookings/${u1}/reschedule`),
    )
    // The customer's note on Cal.com (v2, origin calcom: same booking, same time) arrives late.
    await defects.publishEvent(
      s,
      appointment.version(2, {
        type: 'appointment.booked',
        start: t1,
        origin: 'calcom',
        calcomBookingUid: u1,
        notes: 'please call before',
      }),
    )
    const v3 = await defects.untilResult(s, id, 3)
    const u3 = v3.type === 'sync.succeeded' ? v3.calcomBookingUid : u1
    // A later version must act on the booking v3 made, not on U1: defects.staff cancel (v4).
    await defects.publishEvent(
      s,
      appointment.version(4, { type: 'appointment.cancelled', start: t3, status: 'cancelled', calcomBookingUid: u3 }),
    )
    await defects.untilResult(s, id, 4)
    await defects.calcomSyncSettled(s)
    await stopInstances()

    const results = await defects.resultsOf(s, id)
    expect
      .soft(
        results.filter((result) => result.type === 'sync.failed').map((result) => result.version),
        `failed versions; results ${defects.describeResults(results)}`,
      )
      .toEqual([])
    expect.soft(v3, 'v3’s result').toMatchObject({ type: 'sync.succeeded', start: t3 })
    expect
      .soft(
        defects.describeBookings(defects.accepted(defects.bookingsOf(s, id))),
        'active bookings after the cancel (v4)',
      )
      .toEqual([])
    expect(defects.createRequests(s), 'create requests (v1’s only)').toHaveLength(1)
  }, 60_000)

  it('defect 7: a sync longer than its lease and ackWait is not run a second time meanwhile by another instance', async () => {
    // v2's retry follows the customer's four moves (U1 → … → U5) with slow look-ups: about 7 s in all.
    const s = await startStack({ startSync: false, calcomTimeoutMs: 1500 })
    held.stack = s
    await twoInstances(s, { calcomTimeoutMs: 1500, backoffMs: [4000, 4000, 4000], leaseTtlMs: 2000 })
    const [t1, t2] = [futureSlot(1, 9), futureSlot(1, 15)]
    const { id } = await defects.createAppointment(s, t1)
    const first = await defects.untilSynced(s, id, 1)
    await defects.settled(s)
    // The customer's moves below are not heard of by calsync: only what it finds on Cal.com counts.
    defects.acmeWebhooks(s, false)

    // v2's first attempt fails after it marked its move as under way; its retry waits 4 s.
    s.sandbox.addFault({ method: 'POST', path: defects.RESCHEDULE_PATH }, { status: 503 }, 1)
    await defects.staff(s, id, 'reschedule', t2)
    await eventually('v2’s first attempt to fail', async () =>
      s.sandbox.requests().find((request) => request.status === 503),
    )
    let uid = first.calcomBookingUid ?? ''
    for (const hour of [10, 11, 12, 13]) uid = (await defects.customerMoves(s, uid, futureSlot(1, hour))).uid
    const u5 = uid
    // Each look-up of one booking takes 1.2 s (under the 1.5 s timeout), and so does the move.
    s.sandbox.addFault({ method: 'GET', path: defects.GET_ONE_PATH }, { delayMs: 1200 }, 5)
    s.sandbox.addFault({ method: 'POST', path: defects.RESCHEDULE_PATH }, { delayMs: 1200 }, 1)
    const mark = defects.writeRequests(s).length

    await defects.untilResult(s, id, 2, 40_000)
    await defects.calcomSyncSettled(s, 40_000)
    await stopInstances()
    const writes = defects
      .writeRequests(s)
      .slice(mark)
      .map((request) => `${request.path} ${request.status} ${request.fault ?? ''}`.trim())
    const results = await defects.resultsOf(s, id)
    const context = `U5 ${u5}; writes: ${writes.join(', ')}; results ${defects.describeResults(results)}`
    // Two syncs at once show as two writes, the slower refused: its booking was moved under it.
    expect.soft(writes.length, `Cal.com writes of v2's retry (${context})`).toBeLessThanOrEqual(1)
    expect
      .soft(
        writes.filter((write) => !/ 20\d\b/.test(write)),
        'writes Cal.com refused',
      )
      .toEqual([])
    expect(
      defects.describeBookings(defects.accepted(defects.bookingsOf(s, id))),
      'active bookings of the appointment',
    ).toHaveLength(1)
  }, 60_000)
})
