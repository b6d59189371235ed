import { randomInt } from 'node:crypto'

export interface SandboxEventType {
  id: number
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
  metadata: Record<string, string | number | boolean>
  cancellationReason: string | null
  reschedulingReason: string | null
  rescheduled: boolean
  rescheduledFromUid: string | null
  rescheduledToUid: string | null
  createdAt: string
  updatedAt: string
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** Cal.com booking uids look like `q3XbT9vLwK2mRzP8hD4sYe`: 22 base62 characters. */
export function newUid(): string {
  let uid = ''
  for (let i = 0; i < 22; i++) uid += BASE62[randomInt(BASE62.length)]
  return uid
}

/**
 * The sandbox's bookings, in memory. Availability is decided per host (the tenant's `resource`),
 * as Cal.com decides it per user: all checks and writes are synchronous, so one request's
 * check-and-insert cannot interleave with another's.
 */
export function createSandboxStore() {
  const bookings = new Map<string, Booking>()
  let nextId = 1000

  function overlapping(tenantId: string, resource: string, start: string, end: string, except?: string) {
    const from = Date.parse(start)
    const to = Date.parse(end)
    for (const booking of bookings.values()) {
      if (booking.uid === except || booking.status !== 'accepted') continue
      if (booking.tenantId !== tenantId || booking.resource !== resource) continue
      if (Date.parse(booking.start) < to && from < Date.parse(booking.end)) return booking
    }
    return undefined
  }

  return {
    overlapping,
    get: (uid: string) => bookings.get(uid),
    all: () => [...bookings.values()],
    insert(booking: Omit<Booking, 'id' | 'uid'>): Booking {
      const created = { ...booking, id: nextId++, uid: newUid() }
      bookings.set(created.uid, created)
      return created
    },
    update(uid: string, change: Partial<Booking>): Booking {
      const current = bookings.get(uid)
      if (!current) throw new Error(`no booking ${uid}`)
      const next = { ...current, ...change }
      bookings.set(uid, next)
      return next
    },
    reset: () => bookings.clear(),
  }
}

export type SandboxStore = ReturnType<typeof createSandboxStore>
