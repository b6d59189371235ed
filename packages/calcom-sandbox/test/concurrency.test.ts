import { RACE_LOST_MESSAGE, SLOT_TAKEN_MESSAGE } from '@calsync/calcom-sandbox'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { futureSlot, type SandboxHarness, startSandbox } from './support/sandbox-harness.ts'

describe('concurrent writes to one slot', () => {
  let h: SandboxHarness
  beforeAll(async () => {
    h = await startSandbox()
  })
  afterAll(() => h.close())
  beforeEach(() => h.sandbox.reset())

  const accepted = () => h.sandbox.bookings().filter((booking) => booking.status === 'accepted')

  it('lets exactly one of many simultaneous creates for a slot succeed', async () => {
    const start = futureSlot(0, 10)
    const answers = await Promise.all(Array.from({ length: 8 }, () => h.book(start)))
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(1)
    for (const answer of answers.filter((candidate) => candidate.status !== 201)) {
      expect(answer.status).toBe(400)
      expect(answer.body.error.message).toBe(SLOT_TAKEN_MESSAGE)
    }
    expect(accepted()).toHaveLength(1)
  })

  it('answers the loser of a true race (both past the availability check) with 409 ConflictException', async () => {
    const start = futureSlot(0, 11)
    // Both creates pass the check, then wait before writing: the first to write wins.
    h.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { delayMs: 300 }, 2)
    const answers = await Promise.all([h.book(start), h.book(start)])
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409])
    const loser = answers.find((answer) => answer.status === 409)
    expect(loser?.body.error).toEqual({ code: 'ConflictException', message: RACE_LOST_MESSAGE })
    expect(accepted()).toHaveLength(1)
  })

  it('lets a later, undelayed create win over a delayed one that checked first', async () => {
    const start = futureSlot(0, 12)
    h.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { delayMs: 1_000 }, 1)
    const slow = h.book(start)
    // Once its fault is recorded, the handler checks and starts waiting without yielding to I/O.
    await eventually('the delayed create to wait', async () => (h.sandbox.requests()[0]?.fault ? true : undefined))
    const fast = await h.book(start)
    expect(fast.status).toBe(201)
    expect((await slow).status).toBe(409)
    expect(accepted().map((booking) => booking.uid)).toEqual([fast.body.data.uid])
  })

  it('moves a booking only once when two reschedules race', async () => {
    const booking = (await h.book(futureSlot(0, 13))).body.data
    h.sandbox.addFault({ method: 'POST', path: '/v2/bookings/' }, { delayMs: 300 }, 2)
    const answers = await Promise.all([
      h.reschedule(booking.uid, futureSlot(0, 15)),
      h.reschedule(booking.uid, futureSlot(0, 16)),
    ])
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 400])
    const refused = answers.find((answer) => answer.status === 400)
    const moved = answers.find((answer) => answer.status === 201)
    expect(refused?.body.error.message).toContain(`rescheduled already to booking with uid=${moved?.body.data.uid}`)
    expect(accepted()).toHaveLength(1)
  })
})
