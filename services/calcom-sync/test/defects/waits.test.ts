// Defect 3: waiting — for another worker's lease on the appointment, or for the tenant's call
// budget — is no failed attempt and must not use up JetStream deliveries (maxDeliver 20, ackWait
// 3 s here): nothing is given up, everything ends synced.
import { describe, expect, it } from 'vitest'
import { eventually } from '../../../../test/support/infra.ts'
import { type Stack, startStack } from '../../../../test/support/stack.ts'
import { futureSlot } from '../../../../test/support/tenants.ts'
import { REVIEW_ADMIN_TOKEN, startReviewHarness } from '../../../review/test/support/review-harness.ts'
import * as defects from './support.ts'

type ReviewHarness = Awaited<ReturnType<typeof startReviewHarness>>

describe('waiting uses up no deliveries', () => {
  const held = defects.perTest()

  /** Review items of a kind (poison_message: a message JetStream gave up on; sync_failed), as "<appointment> <error code>". */
  async function reviewItems(kind: 'poison_message' | 'sync_failed') {
    const r = held.review as ReviewHarness
    await eventually('review to take every report', async () => ((await r.consumersIdle()) ? true : undefined))
    const response = await r.api(REVIEW_ADMIN_TOKEN, 'GET', `/v1/review-items?kind=${kind}&limit=200`)
    const items = response.json().items as Array<{ appointmentIds: string[]; errorCode: string }>
    return items.map((item) => `${item.appointmentIds.join(',')} ${item.errorCode}`)
  }

  /**
   * Until every appointment's current version is synced — or calcom-sync has nothing left to
   * deliver and the appointments service has applied every result while some are not synced
   * (given up): answers "<id> <status>" of those not synced. A `conflict` (a double booking the
   * appointments service reports) is no calcom-sync give-up and counts as done here.
   */
  async function untilAllSyncedOrGivenUp(s: Stack, ids: string[], timeoutMs: number) {
    const notSynced = async () => {
      const states = await defects.syncStatesOf(s, ids)
      return ids
        .map((id) => `${id} ${states.get(id) ?? 'missing'}`)
        .filter((line) => !line.endsWith(' synced') && !line.endsWith(' conflict'))
    }
    return eventually(
      'every appointment synced, or calcom-sync idle with some not',
      async () => {
        const open = await notSynced()
        if (open.length === 0) return open
        const idle = (await defects.syncConsumerIdle(s)) && (await s.appointments.consumersIdle())
        return idle ? await notSynced() : undefined
      },
      timeoutMs,
    )
  }

  it('defect 3: a reschedule arriving during a slow create waits for it and then reaches Cal.com', async () => {
    // Cal.com takes 7 s to answer the create (v1); defects.staff move the appointment (v2) meanwhile.
    const s = await startStack({ startSync: false, calcomTimeoutMs: 10_000 })
    held.stack = s
    held.review = await startReviewHarness({ names: s.names })
    await s.startSync()
    const [t1, t2] = [futureSlot(0, 9), futureSlot(0, 13)]
    s.sandbox.addFault({ method: 'POST', path: defects.CREATE_PATH }, { delayMs: 7000 }, 1)
    const { id } = await defects.createAppointment(s, t1)
    await eventually('the slow create to reach Cal.com', async () => defects.createRequests(s)[0])
    await defects.staff(s, id, 'reschedule', t2)

    const open = await untilAllSyncedOrGivenUp(s, [id], 40_000)
    expect.soft(open, `not synced; results ${defects.describeResults(await defects.resultsOf(s, id))}`).toEqual([])
    expect
      .soft(defects.describeBookings(defects.accepted(defects.bookingsOf(s, id))))
      .toEqual([expect.stringMatching(`@${t2} accepted$`)])
    expect(await reviewItems('poison_message'), 'messages JetStream gave up on').toEqual([])
    expect(await reviewItems('sync_failed')).toEqual([])
  }, 60_000)

  it('defect 3: a burst over the tenant’s call budget is paced, not given up: every appointment ends synced', async () => {
    // 110 appointments of one tenant at once, with a budget of 100 Cal.com calls per minute.
    const s = await startStack({ startSync: false })
    held.stack = s
    held.review = await startReviewHarness({ names: s.names })
    held.instances.push(await defects.startSyncInstance(s, 'a', { tenantCallsPerMinute: 100 }))
    const ids: string[] = []
    for (let day = 0; day < 11; day++) {
      for (let hour = 8; hour < 18; hour++) ids.push((await defects.createAppointment(s, futureSlot(day, hour))).id)
    }

    const open = await untilAllSyncedOrGivenUp(s, ids, 75_000)
    expect.soft(open, `${open.length} of ${ids.length} appointments not synced`).toEqual([])
    expect(
      defects
        .createRequests(s)
        .map((request) => request.status)
        .filter((status) => status !== 201),
    ).toEqual([])
    expect(await reviewItems('poison_message'), 'messages JetStream gave up on').toEqual([])
    expect(await reviewItems('sync_failed')).toEqual([])
  }, 100_000)
})
