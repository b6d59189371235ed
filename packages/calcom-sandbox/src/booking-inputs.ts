import { badRequest } from './calcom-http-error.ts'
import type { Attendee, Metadata } from './sandbox-store.ts'

export interface CreateBookingInput {
  start: string
  eventTypeId: number
  attendee: Attendee
  guests: string[]
  metadata: Metadata
  bookingFieldsResponses: Record<string, unknown>
  lengthInMinutes: number | undefined
  location: string | null
}

export interface CancelBookingInput {
  cancellationReason: string
}

export interface RescheduleBookingInput {
  start: string
  reschedulingReason: string | null
  rescheduledBy: string | null
}

const CREATE_FIELDS = [
  'start',
  'eventTypeId',
  'attendee',
  'guests',
  'metadata',
  'bookingFieldsResponses',
  'lengthInMinutes',
  'location',
  'meetingUrl',
]
const ATTENDEE_FIELDS = ['name', 'email', 'timeZone', 'language', 'phoneNumber']
// Newer source also takes these for recurring and seated bookings; accepted, without effect here.
const CANCEL_FIELDS = ['cancellationReason', 'cancelSubsequentBookings', 'seatUid']
const RESCHEDULE_FIELDS = ['start', 'reschedulingReason', 'rescheduledBy', 'seatUid']

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badRequest(`${what} must be an object`)
  return value as Record<string, unknown>
}

/**
 * Cal.com runs Nest's ValidationPipe with class-validator's whitelist and
 * forbidNonWhitelisted: a field the input class does not declare is a 400, not ignored.
 */
function refuseUnknown(object: Record<string, unknown>, known: string[], prefix = ''): void {
  const unknown = Object.keys(object).find((key) => !known.includes(key))
  if (unknown !== undefined) throw badRequest(`property ${prefix}${unknown} should not exist`)
}

const optionalString = (value: unknown, what: string): string | null => {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string') throw badRequest(`${what} must be a string`)
  return value
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name })
    return true
  } catch {
    return false
  }
}

/** An ISO 8601 date-time, read as UTC when it carries no offset (luxon with zone utc does that). */
export function parseStart(value: unknown): string {
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value)) {
    throw badRequest('start must be a valid ISO 8601 date string')
  }
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : `${value}Z`
  const at = Date.parse(zoned)
  if (Number.isNaN(at)) throw badRequest('start must be a valid ISO 8601 date string')
  return new Date(at).toISOString()
}

/** Checked by the booking pipeline after the input is valid, with Cal.com's wording. */
export function refusePast(start: string, now: Date): void {
  if (Date.parse(start) < now.getTime()) throw badRequest('Attempting to book a meeting in the past.')
}

/** Cal.com's metadata rule: ≤ 50 keys of ≤ 40 characters; string (≤ 500), number or boolean values. */
export function parseMetadata(value: unknown): Metadata {
  if (value === undefined) return {}
  const invalid = badRequest(
    'metadata must be an object with up to 50 keys, each key name up to 40 characters, and values with a maximum length of 500 characters.',
  )
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid
  const entries = Object.entries(value)
  if (entries.length > 50) throw invalid
  for (const [key, item] of entries) {
    if (key.length > 40) throw invalid
    if (typeof item === 'string' ? item.length > 500 : typeof item !== 'number' && typeof item !== 'boolean') {
      throw invalid
    }
  }
  return { ...(value as Metadata) }
}

function parseAttendee(value: unknown): Attendee {
  const attendee = objectOf(value, 'attendee')
  refuseUnknown(attendee, ATTENDEE_FIELDS, 'attendee.')
  if (typeof attendee.name !== 'string' || attendee.name.trim() === '') {
    throw badRequest('attendee.name must be a string')
  }
  if (typeof attendee.timeZone !== 'string' || !isTimeZone(attendee.timeZone)) {
    throw badRequest('attendee.timeZone must be a valid IANA time zone')
  }
  const phoneNumber = optionalString(attendee.phoneNumber, 'attendee.phoneNumber')
  // Newer source lets a phone number stand in for the email.
  if (attendee.email === undefined && phoneNumber === null) throw badRequest('attendee.email must be an email')
  if (attendee.email !== undefined && (typeof attendee.email !== 'string' || !EMAIL.test(attendee.email))) {
    throw badRequest('attendee.email must be an email')
  }
  return {
    name: attendee.name,
    email: (attendee.email as string | undefined) ?? '',
    timeZone: attendee.timeZone,
    language: optionalString(attendee.language, 'attendee.language') ?? 'en',
    ...(phoneNumber === null ? {} : { phoneNumber }),
  }
}

function parseGuests(value: unknown): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.some((guest) => typeof guest !== 'string' || !EMAIL.test(guest))) {
    throw badRequest('each value in guests must be an email')
  }
  return [...value]
}

function parseLocation(value: unknown): string | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'string') return value
  // The object form (`{ type: "address", address }` …): kept as the most telling string in it.
  const location = objectOf(value, 'location')
  const text = [location.address, location.link, location.phone, location.integration, location.type].find(
    (item) => typeof item === 'string',
  )
  return typeof text === 'string' ? text : null
}

/** `CreateBookingInput_2024_08_13` plus the newer fields (calcom/README.md §2.1, §2.6). */
export function parseCreateBooking(body: unknown): CreateBookingInput {
  const input = objectOf(body, 'body')
  refuseUnknown(input, CREATE_FIELDS)
  if (typeof input.eventTypeId !== 'number' || !Number.isInteger(input.eventTypeId)) {
    throw badRequest('eventTypeId must be an integer number')
  }
  const lengthInMinutes = input.lengthInMinutes
  if (lengthInMinutes !== undefined && (typeof lengthInMinutes !== 'number' || !Number.isInteger(lengthInMinutes))) {
    throw badRequest('lengthInMinutes must be an integer number')
  }
  const responses =
    input.bookingFieldsResponses === undefined ? {} : objectOf(input.bookingFieldsResponses, 'bookingFieldsResponses')
  return {
    start: parseStart(input.start),
    eventTypeId: input.eventTypeId,
    attendee: parseAttendee(input.attendee),
    guests: parseGuests(input.guests),
    metadata: parseMetadata(input.metadata),
    bookingFieldsResponses: { ...responses },
    lengthInMinutes,
    location: parseLocation(input.location ?? input.meetingUrl),
  }
}

/**
 * `CancelBookingInput_2024_08_13`: the published spec requires a reason, and Cal.com refuses a
 * host's cancellation without one (calcom/README.md §2.4), so it is required here.
 */
export function parseCancelBooking(body: unknown): CancelBookingInput {
  const input = objectOf(body ?? {}, 'body')
  refuseUnknown(input, CANCEL_FIELDS)
  if (typeof input.cancellationReason !== 'string' || input.cancellationReason.trim() === '') {
    throw badRequest('cancellationReason must be a string')
  }
  return { cancellationReason: input.cancellationReason }
}

/** `RescheduleBookingInput_2024_08_13` plus the newer `rescheduledBy` (calcom/README.md §2.5). */
export function parseRescheduleBooking(body: unknown): RescheduleBookingInput {
  const input = objectOf(body ?? {}, 'body')
  refuseUnknown(input, RESCHEDULE_FIELDS)
  const rescheduledBy = optionalString(input.rescheduledBy, 'rescheduledBy')
  if (rescheduledBy !== null && !EMAIL.test(rescheduledBy)) throw badRequest('rescheduledBy must be an email')
  return {
    start: parseStart(input.start),
    reschedulingReason: optionalString(input.reschedulingReason, 'reschedulingReason'),
    rescheduledBy,
  }
}
