import type { Booking } from './sandbox-store.ts'

export interface SandboxHost {
  id: number
  name: string
  email: string
  username: string
  timeZone: string
}

/** The Cal.com user behind a resource: stable made-up identity, same in API answers and webhooks. */
export function hostOf(resource: string): SandboxHost {
  let hash = 0
  for (const char of resource) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) % 900_000
  return {
    id: 100_000 + hash,
    name: resource,
    email: `${resource}@sandbox.invalid`,
    username: resource.toLowerCase(),
    timeZone: 'UTC',
  }
}

export const eventTypeSlugOf = (eventTypeId: number) => `event-type-${eventTypeId}`
export const eventTitleOf = (lengthMinutes: number) => `${lengthMinutes} min appointment`

/** Cal.com's default booking title: "{event type title} between {host} and {attendee}". */
export function bookingTitleOf(booking: Booking): string {
  const lengthMinutes = (Date.parse(booking.end) - Date.parse(booking.start)) / 60_000
  const attendee = booking.attendees[0]?.name ?? 'guest'
  return `${eventTitleOf(lengthMinutes)} between ${hostOf(booking.resource).name} and ${attendee}`
}
