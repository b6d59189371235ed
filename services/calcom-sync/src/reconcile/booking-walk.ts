import type { BookingsPage, CalcomBooking, ListBookingsQuery } from '../calcom/calcom-client.ts'

/** Cal.com's largest page. */
export const PAGE_SIZE = 250

export type ListPage = (query: ListBookingsQuery) => Promise<BookingsPage>

export interface WalkResult {
  bookings: Map<string, CalcomBooking>
  calls: number
  /** The walk stopped at `maxCalls` before the listing's end. */
  truncated: boolean
}

/**
 * Every booking of a listing, walked by a time cursor rather than by offset alone: Cal.com pages by
 * `skip`, and a booking updated during the walk moves to the listing's end, which shifts every
 * later page by one and would skip a booking. Each page starts again at the last time seen (minus a
 * millisecond, whether Cal.com's bound is inclusive or not), so what moved is met again further on
 * and what did not is read twice at most; duplicates collapse by uid, the later reading winning.
 * `skip` only steps over a whole page of bookings sharing one instant.
 */
export async function walkBookings(options: {
  list: ListPage
  query: ListBookingsQuery
  field: 'createdAt' | 'updatedAt'
  since: string
  maxCalls: number
  into?: Map<string, CalcomBooking>
}): Promise<WalkResult> {
  const bookings = options.into ?? new Map<string, CalcomBooking>()
  const after = options.field === 'createdAt' ? 'afterCreatedAt' : 'afterUpdatedAt'
  const sort = options.field === 'createdAt' ? 'sortCreated' : 'sortUpdatedAt'
  let cursor = Date.parse(options.since)
  let skip = 0
  let calls = 0
  for (;;) {
    if (calls >= options.maxCalls) return { bookings, calls, truncated: true }
    const page = await options.list({
      ...options.query,
      [after]: new Date(cursor).toISOString(),
      [sort]: 'asc',
      take: PAGE_SIZE,
      ...(skip > 0 ? { skip } : {}),
    })
    calls++
    for (const booking of page.bookings) bookings.set(booking.uid, booking)
    if (!page.hasNextPage || page.bookings.length === 0) return { bookings, calls, truncated: false }
    const times = page.bookings.map((booking) => Date.parse(booking[options.field] ?? '')).filter(Number.isFinite)
    const last = times.length > 0 ? Math.max(...times) : Number.NaN
    if (Number.isFinite(last) && last - 1 > cursor) {
      cursor = last - 1
      skip = 0
    } else {
      // A whole page at one instant (or without times): only the offset can move on.
      skip += page.bookings.length
    }
  }
}
