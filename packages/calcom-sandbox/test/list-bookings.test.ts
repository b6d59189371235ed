import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { attendee, BRIGHT_KEY, futureSlot, type SandboxHarness, startSandbox } from './support/sandbox-harness.ts'

describe('GET /v2/bookings', () => {
  let h: SandboxHarness
  // The sandbox's clock, moved forward to make bookings "past".
  let now = Date.now()
  const uids: Record<string, string> = {}

  beforeAll(async () => {
    h = await startSandbox({ clock: () => new Date(now) })
    const book = async (name: string, start: string, eventTypeId: number, email: string) => {
      const answer = await h.book(start, { eventTypeId, attendee: { ...attendee, email } })
      uids[name] = answer.body.data.uid
    }
    await book('monday9', futureSlot(0, 9), 1001, 'ana@example.org')
    await book('monday11', futureSlot(0, 11), 1001, 'ben@example.org')
    await book('monday9room', futureSlot(0, 9), 1002, 'ana@example.org')
    await book('tuesday9', futureSlot(1, 9), 1001, 'cleo@example.org')
    await book('later', futureSlot(14, 9), 1002, 'ben@example.org')
    await h.cancel(uids.monday11 as string)
    await h.book(futureSlot(0, 9), { eventTypeId: 2001 }, BRIGHT_KEY)
  })
  afterAll(() => h.close())

  const list = async (query = '') => {
    const answer = await h.call('GET', `/v2/bookings${query}`)
    expect(answer.status, query).toBe(200)
    return answer.body
  }
  const uidsOf = (body: { data: Array<{ uid: string }> }) => body.data.map((booking) => booking.uid)

  it("lists only the key's tenant's bookings, by start, with pagination", async () => {
    const body = await list()
    expect(body.status).toBe('success')
    expect(body.data).toHaveLength(5)
    const starts = body.data.map((booking: { start: string }) => booking.start)
    expect(starts).toEqual([...starts].sort())
    expect(body.pagination).toEqual({
      totalItems: 5,
      itemsPerPage: 100,
      remainingItems: 0,
      currentPage: 1,
      totalPages: 1,
      hasNextPage: false,
      hasPreviousPage: false,
      itemsReturned: 5,
    })
  })

  it('pages with take and skip', async () => {
    const all = uidsOf(await list())
    const second = await list('?take=2&skip=2')
    expect(uidsOf(second)).toEqual(all.slice(2, 4))
    expect(second.pagination).toEqual({
      totalItems: 5,
      itemsPerPage: 2,
      remainingItems: 1,
      currentPage: 2,
      totalPages: 3,
      hasNextPage: true,
      hasPreviousPage: true,
      itemsReturned: 2,
    })
    const last = await list('?take=2&skip=4')
    expect(last.pagination).toMatchObject({ itemsReturned: 1, remainingItems: 0, hasNextPage: false, currentPage: 3 })
  })

  it('filters by attendee email, event type(s), time window and status', async () => {
    expect(uidsOf(await list('?attendeeEmail=ana@example.org')).sort()).toEqual([uids.monday9, uids.monday9room].sort())
    expect(uidsOf(await list('?eventTypeId=1002')).sort()).toEqual([uids.monday9room, uids.later].sort())
    expect(await list('?eventTypeIds=1001,1002')).toMatchObject({ pagination: { totalItems: 5 } })
    const window = `?afterStart=${futureSlot(0, 8)}&beforeEnd=${futureSlot(1, 9, 30)}`
    expect(uidsOf(await list(window)).sort()).toEqual(
      [uids.monday9, uids.monday11, uids.monday9room, uids.tuesday9].sort(),
    )
    expect(uidsOf(await list('?status=cancelled'))).toEqual([uids.monday11])
    expect(uidsOf(await list('?status=upcoming'))).toHaveLength(4)
    expect(uidsOf(await list('?status=past'))).toEqual([])
  })

  it('moves bookings from upcoming to past as the clock passes their end', async () => {
    now = Date.parse(futureSlot(7, 0))
    expect(uidsOf(await list('?status=upcoming'))).toEqual([uids.later])
    expect(uidsOf(await list('?status=past')).sort()).toEqual([uids.monday9, uids.monday9room, uids.tuesday9].sort())
    expect(uidsOf(await list('?status=past,cancelled'))).toHaveLength(4)
    now = Date.now()
  })

  it('refuses unknown parameters and values', async () => {
    for (const query of [
      '?colour=blue',
      '?status=everything',
      '?take=0',
      '?skip=-1',
      '?afterStart=soon',
      '?sortStart=up',
    ]) {
      const answer = await h.call('GET', `/v2/bookings${query}`)
      expect(answer.status, query).toBe(400)
      expect(answer.body.error.code).toBe('BadRequestException')
    }
  })
})
