import { badRequest } from './calcom-http-error.ts'
import type { Booking } from './sandbox-store.ts'

// The query of GET /v2/bookings (snapshot plus the newer created/updated filters); unknown
// parameters are refused like unknown body fields.
const KNOWN = [
  'status',
  'attendeeEmail',
  'attendeeName',
  'bookingUid',
  'eventTypeId',
  'eventTypeIds',
  'teamId',
  'teamsIds',
  'afterStart',
  'beforeEnd',
  'afterCreatedAt',
  'beforeCreatedAt',
  'afterUpdatedAt',
  'beforeUpdatedAt',
  'sortStart',
  'sortEnd',
  'sortCreated',
  'sortUpdatedAt',
  'take',
  'skip',
]
const STATUSES = ['upcoming', 'recurring', 'past', 'cancelled', 'unconfirmed']
const SORTS = { sortStart: 'start', sortEnd: 'end', sortCreated: 'createdAt', sortUpdatedAt: 'updatedAt' } as const
const MAX_TAKE = 250

export interface Page<T> {
  data: T[]
  pagination: {
    totalItems: number
    itemsPerPage: number
    remainingItems: number
    currentPage: number
    totalPages: number
    hasNextPage: boolean
    hasPreviousPage: boolean
    itemsReturned: number
  }
}

function integer(query: Record<string, string>, name: string, fallback: number, min: number): number {
  const text = query[name]
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < min) throw badRequest(`${name} must be an integer not less than ${min}`)
  return value
}

function instant(query: Record<string, string>, name: string): number | undefined {
  const text = query[name]
  if (text === undefined) return undefined
  const value = Date.parse(text)
  if (Number.isNaN(value)) throw badRequest(`${name} must be a valid ISO 8601 date string`)
  return value
}

const list = (text: string | undefined) =>
  text === undefined
    ? []
    : text
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)

/**
 * One page of a tenant's bookings, filtered as Cal.com filters them (approximately:
 * "upcoming"/"past" compare the end with now; "recurring" and "unconfirmed" match nothing here).
 */
export function listBookings(bookings: Booking[], rawQuery: unknown, now: Date): Page<Booking> {
  // Repeated parameters arrive as arrays; Cal.com's comma lists read the same either way.
  const query = Object.fromEntries(
    Object.entries((rawQuery ?? {}) as Record<string, string | string[]>).map(([key, value]) => [
      key,
      Array.isArray(value) ? value.join(',') : value,
    ]),
  )
  const unknown = Object.keys(query).find((key) => !KNOWN.includes(key))
  if (unknown !== undefined) throw badRequest(`property ${unknown} should not exist`)
  const statuses = list(query.status)
  const wrong = statuses.find((status) => !STATUSES.includes(status))
  if (wrong !== undefined) throw badRequest(`status must be one of the following values: ${STATUSES.join(', ')}`)
  const eventTypeIds = [...list(query.eventTypeId), ...list(query.eventTypeIds)].map(Number)
  if (eventTypeIds.some((id) => !Number.isInteger(id))) throw badRequest('eventTypeIds must be integer numbers')
  const take = Math.min(integer(query, 'take', 100, 1), MAX_TAKE)
  const skip = integer(query, 'skip', 0, 0)
  const bounds = {
    afterStart: instant(query, 'afterStart'),
    beforeEnd: instant(query, 'beforeEnd'),
    afterCreatedAt: instant(query, 'afterCreatedAt'),
    beforeCreatedAt: instant(query, 'beforeCreatedAt'),
    afterUpdatedAt: instant(query, 'afterUpdatedAt'),
    beforeUpdatedAt: instant(query, 'beforeUpdatedAt'),
  }
  const atLeast = (value: string, bound: number | undefined) => bound === undefined || Date.parse(value) >= bound
  const atMost = (value: string, bound: number | undefined) => bound === undefined || Date.parse(value) <= bound
  const nowMs = now.getTime()
  const statusMatches = (booking: Booking) =>
    statuses.length === 0 ||
    (statuses.includes('cancelled') && booking.status === 'cancelled') ||
    (statuses.includes('upcoming') && booking.status === 'accepted' && Date.parse(booking.end) >= nowMs) ||
    (statuses.includes('past') && booking.status === 'accepted' && Date.parse(booking.end) < nowMs)

  const matching = bookings.filter(
    (booking) =>
      statusMatches(booking) &&
      (!query.attendeeEmail || booking.attendees.some((attendee) => attendee.email === query.attendeeEmail)) &&
      (!query.attendeeName || booking.attendees.some((attendee) => attendee.name === query.attendeeName)) &&
      (!query.bookingUid || booking.uid === query.bookingUid) &&
      (eventTypeIds.length === 0 || eventTypeIds.includes(booking.eventTypeId)) &&
      atLeast(booking.start, bounds.afterStart) &&
      atMost(booking.end, bounds.beforeEnd) &&
      atLeast(booking.createdAt, bounds.afterCreatedAt) &&
      atMost(booking.createdAt, bounds.beforeCreatedAt) &&
      atLeast(booking.updatedAt, bounds.afterUpdatedAt) &&
      atMost(booking.updatedAt, bounds.beforeUpdatedAt),
  )
  const sortKey = (Object.keys(SORTS) as Array<keyof typeof SORTS>).find((key) => query[key] !== undefined)
  const field = sortKey ? SORTS[sortKey] : 'start'
  const direction = sortKey && query[sortKey] === 'desc' ? -1 : 1
  if (sortKey && !['asc', 'desc'].includes(query[sortKey] ?? '')) throw badRequest(`${sortKey} must be asc or desc`)
  matching.sort((a, b) => direction * (Date.parse(a[field]) - Date.parse(b[field])) || a.id - b.id)

  const data = matching.slice(skip, skip + take)
  return {
    data,
    pagination: {
      totalItems: matching.length,
      itemsPerPage: take,
      remainingItems: Math.max(0, matching.length - skip - data.length),
      currentPage: Math.floor(skip / take) + 1,
      totalPages: Math.ceil(matching.length / take),
      hasNextPage: skip + data.length < matching.length,
      hasPreviousPage: skip > 0,
      itemsReturned: data.length,
    },
  }
}
