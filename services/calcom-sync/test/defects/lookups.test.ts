// Defect 9: the look-up for a create whose answer was lost must find calsync's booking however
// many other bookings the attendee has of that event type (GET /v2/bookings is paged).
import { describe, expect, it } from 'vitest'
import { startStack } from '../../../../test/support/stack.ts'
import { futureSlot } from '../../../../test/support/tenants.ts'
import {
  acmeWebhooks,
  bookingsOf,
  CREATE_PATH,
  createAppointment,
  createRequests,
  customerBooks,
  describeBookings,
  perTest,
  untilHandled,
} from './support.ts'

const regular = { name: 'Rosa Quint', email: 'rosa.regular@example.org', timeZone: 'UTC' }

describe('finding the booking of a lost create answer', () => {
  const held = perTest()

  it('defect 9: finds its booking beyond the first page of the attendee’s bookings: no second create', async () => {
    // A regular with 260 earlier bookings (more than the largest page, 250) of event type 1001 books once more; Cal.com commits, the answer is lost.
    const s = await startStack()
    held.stack = s
    // Made on Cal.com before calsync hears of them (no webhooks): they only fill the look-up's pages.
    acmeWebhooks(s, false)
    for (let day = 0; day < 26; day++) {
      for (let hour = 8; hour < 18; hour++) await customerBooks(s, futureSlot(day, hour), regular)
    }
    acmeWebhooks(s, true)
    const before = createRequests(s).length

    s.sandbox.addFault({ method: 'POST', path: CREATE_PATH }, { commitThenDrop: true }, 1)
    const { id } = await createAppointment(s, futureSlot(30, 9), regular)
    const status = await untilHandled(s, id, 1)

    const ours = bookingsOf(s, id)
    expect(
      createRequests(s)
        .slice(before)
        .map((request) => `${request.status} ${request.fault ?? ''}`),
      'create requests for the appointment',
    ).toEqual(['201 commitThenDrop'])
    expect(describeBookings(ours)).toHaveLength(1)
    expect(status).toMatchObject({ status: 'synced', calcomBookingUid: ours[0]?.uid })
  }, 60_000)
})
