import { randomInt } from 'node:crypto'

export interface SandboxEventType {
  id: number
  /** The host whose calendar the event type books; availability is per host. */
  resource: string
  lengthMinutes: number
}

export interface SandboxTenant {
  id: string
  apiKey: string
  webhookSecret: string
  eventTypes: SandboxEventType[]
  /** Where Cal.com would POST this tenant's webhooks; none when unset. */
  webhookUrl?: string | undefined
}

export interface Attendee {
  name: string
  email: string
  timeZone: string
  language: string
  phoneNumber?: string
}

export type Metadata = Record<string, string | number | boolean>

export interface Booking {
  id: number
  uid: string
  tenantId: string
  eventTypeId: number
  resource: string
  status: 'accepted' | 'cancelled'
  start: string
  end: string
  attendees: Attendee[]
  guests: string[]
  metadata: Metadata
  location: string | null
  bookingFieldsResponses: Record<string, unknown>
  cancellationReason: string | null
  reschedulingReason: string | null
  rescheduled: boolean
  rescheduledFromUid: string | null
  rescheduledToUid: string | null
  rescheduledByEmail: string | null
  createdAt: string
  updatedAt: string
}

export type BookingDraft = Omit<Booking, 'id' | 'uid'>

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** Cal.com booking uids look like `q3XbT9vLwK2mRzP8hD4sYe`: 22 base62 characters. */
export function newUid(): string {
  let uid = ''
  for (let i = 0; i < 22; i++) uid += BASE62[randomInt(BASE62.length)]
  return uid
}

const overlaps = (booking: Booking, from: number, to: number) =>
  Date.parse(booking.start) < to && from < Date.parse(booking.end)

/**
 * The sandbox's bookings, in memory. Availability is per host (the event type's `resource`)
 * within a tenant, as Cal.com decides it per user. Every method is synchronous, so a
 * check-and-insert cannot interleave with another request's.
 */
export function createSandboxStore() {
  const bookings = new Map<string, Booking>()
  let nextId = 1000

  /** The accepted booking of that host overlapping [start, end), if any; `exceptUid` is ignored. */
  function findOverlap(tenantId: string, resource: string, start: string, end: string, exceptUid?: string) {
    const from = Date.parse(start)
    const to = Date.parse(end)
    for (const booking of bookings.values()) {
      if (booking.uid === exceptUid || booking.status !== 'accepted') continue
      if (booking.tenantId === tenantId && booking.resource === resource && overlaps(booking, from, to)) return booking
    }
    return undefined
  }

  function insert(draft: BookingDraft): Booking {
    let uid = newUid()
    while (bookings.has(uid)) uid = newUid()
    const booking = { ...draft, id: nextId++, uid }
    bookings.set(uid, booking)
    return booking
  }

  return {
    findOverlap,
    get: (uid: string): Booking | undefined => bookings.get(uid),
    all: (): Booking[] => [...bookings.values()],
    /**
     * Inserts unless an accepted booking of the same host overlaps (the unique-key check of a
     * real database): undefined means the slot was taken first.
     */
    insertIfFree(draft: BookingDraft, exceptUid?: string): Booking | undefined {
      if (findOverlap(draft.tenantId, draft.resource, draft.start, draft.end, exceptUid)) return undefined
      return insert(draft)
    },
    update(uid: string, change: Partial<BookingDraft>): Booking {
      const current = bookings.get(uid)
      if (!current) throw new Error(`no booking ${uid}`)
      const next = { ...current, ...change }
      bookings.set(uid, next)
      return next
    },
    /** Gone without a trace, as an admin's delete on Cal.com leaves it (no webhook, 404 on read). */
    remove(uid: string): boolean {
      return bookings.delete(uid)
    },
    reset(): void {
      bookings.clear()
    },
  }
}

export type SandboxStore = ReturnType<typeof createSandboxStore>
