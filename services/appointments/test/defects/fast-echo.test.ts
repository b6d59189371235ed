// An echo can arrive while the change it echoes is still being finished (its writer holds the
// lock, the projection not yet written): it must be taken for that appointment's, not a new booking.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { futureSlot } from '../../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from '../support/harness.ts'
import { scenario } from '../support/scenario.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('an echo faster than the change it echoes', () => {
  let h: AppointmentsHarness
  let s: ReturnType<typeof scenario>
  /** Starts whose create delivers its own echo before the writer finishes. */
  const echoEarly = new Map<string, string>()
  beforeAll(async () => {
    h = await startAppointmentsHarness({
      components: {
        afterEventWrite: async (event) => {
          const uid = echoEarly.get(event.snapshot.start)
          if (!uid || event.version !== 1) return
          echoEarly.delete(event.snapshot.start)
          // Committed, not yet finished: Cal.com's webhook for the booking calcom-sync made gets here now.
          await s.webhook('BOOKING_CREATED', { uid, start: event.snapshot.start, forAppointment: event.appointmentId })
          await sleep(700)
        },
      },
    })
    s = scenario(h)
  })
  afterAll(() => h.close())

  it('is recognised as the echo of the create still being finished: no second appointment, no double booking', async () => {
    const start = futureSlot(7, 9)
    echoEarly.set(start, 'fast-echo-1')
    const local = await s.createOk(start)
    await s.succeeded(local.id, 1, { action: 'created', uid: 'fast-echo-1', start })
    await s.settle()
    const booked = (await s.listed()).filter((item) => item.start === start)
    expect(booked.map((item) => item.id)).toEqual([local.id])
    expect((await s.get(local.id)).sync.status).toBe('synced')
    expect(await s.reviewsOf('double_booking')).toHaveLength(0)
  })
})
