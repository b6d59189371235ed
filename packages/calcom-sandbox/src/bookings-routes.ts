import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { bookingOutput, type WebhookTrigger } from './calcom-shapes.ts'
import type { Attendee, Booking, SandboxStore, SandboxTenant } from './sandbox-store.ts'

export const CAL_API_VERSION = '2024-08-13'

/** Cal.com's message for a taken slot (calcom/README.md §3.2), matched by clients on its words. */
export const SLOT_TAKEN_MESSAGE = 'User either already has booking at this time or is not available'

export class CalcomHttpError extends Error {
  override name = 'CalcomHttpError'
  readonly statusCode: number
  readonly code: string

  constructor(statusCode: number, code: string, message: string) {
    super(message)
    this.statusCode = statusCode
    this.code = code
  }
}

const bad = (message: string) => new CalcomHttpError(400, 'BadRequestException', message)
const notFound = (message: string) => new CalcomHttpError(404, 'NotFoundException', message)

export interface BookingsRoutesDeps {
  store: SandboxStore
  tenantOf(request: FastifyRequest): SandboxTenant
  emit(tenant: SandboxTenant, trigger: WebhookTrigger, booking: Booking, previous?: Booking): void
  clock: () => Date
}

const CREATE_FIELDS = new Set([
  'start',
  'eventTypeId',
  'attendee',
  'guests',
  'metadata',
  'bookingFieldsResponses',
  'lengthInMinutes',
  'location',
  'meetingUrl',
])

function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(`${what} must be an object`)
  return value as Record<string, unknown>
}

function isoStart(value: unknown, now: Date): string {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw bad('start must be a valid ISO 8601 date')
  if (Date.parse(value) < now.getTime()) throw bad('Attempting to book a meeting in the past.')
  return new Date(value).toISOString()
}

/** Cal.com's metadata rules (calcom/README.md §2.6). */
function metadataOf(value: unknown): Record<string, string | number | boolean> {
  if (value === undefined) return {}
  const metadata = object(value, 'metadata')
  const entries = Object.entries(metadata)
  if (entries.length > 50) throw bad('metadata can have at most 50 keys')
  for (const [key, item] of entries) {
    if (key.length > 40) throw bad(`metadata key "${key.slice(0, 40)}…" is longer than 40 characters`)
    if (typeof item === 'string' && item.length > 500)
      throw bad(`metadata value of "${key}" is longer than 500 characters`)
    if (!['string', 'number', 'boolean'].includes(typeof item))
      throw bad(`metadata value of "${key}" must be a string, number or boolean`)
  }
  return metadata as Record<string, string | number | boolean>
}

function attendeeOf(value: unknown): Attendee {
  const attendee = object(value, 'attendee')
  for (const field of ['name', 'timeZone'] as const) {
    if (typeof attendee[field] !== 'string' || attendee[field] === '') throw bad(`attendee.${field} must be a string`)
  }
  if (typeof attendee.email !== 'string' && typeof attendee.phoneNumber !== 'string') {
    throw bad('attendee.email must be an email')
  }
  return {
    name: attendee.name as string,
    email: (attendee.email as string | undefined) ?? '',
    timeZone: attendee.timeZone as string,
    language: typeof attendee.language === 'string' ? attendee.language : 'en',
    ...(typeof attendee.phoneNumber === 'string' ? { phoneNumber: attendee.phoneNumber } : {}),
  }
}

/** The `/v2/bookings` endpoints of Cal.com API v2, version 2024-08-13 (calcom/README.md §2). */
export async function bookingsRoutes(app: FastifyInstance, deps: BookingsRoutesDeps) {
  const { store, clock } = deps

  app.addHook('onRequest', async (request) => {
    // The real API silently answers in the 2024-04-15 shape without it: refuse loudly instead.
    const version = request.headers['cal-api-version']
    if (version !== CAL_API_VERSION) {
      throw bad(
        `cal-api-version must be ${CAL_API_VERSION} (got ${version ? `"${String(version)}"` : 'none'}); ` +
          'the real Cal.com API would silently fall back to the 2024-04-15 bookings shape',
      )
    }
  })

  function owned(tenant: SandboxTenant, uid: string): Booking {
    const booking = store.get(uid)
    if (!booking || booking.tenantId !== tenant.id)
      throw notFound(`Booking with uid=${uid} was not found in the database`)
    return booking
  }

  function send(reply: FastifyReply, statusCode: number, tenant: SandboxTenant, booking: Booking) {
    return reply.code(statusCode).send({ status: 'success', data: bookingOutput(booking, tenant) })
  }

  app.post('/v2/bookings', async (request, reply) => {
    const tenant = deps.tenantOf(request)
    const body = object(request.body, 'body')
    // class-validator runs with whitelist + forbidNonWhitelisted: unknown fields are a 400.
    const unknown = Object.keys(body).filter((key) => !CREATE_FIELDS.has(key))
    if (unknown.length > 0) throw bad(`property ${unknown[0]} should not exist`)
    if (typeof body.eventTypeId !== 'number') throw bad('eventTypeId must be a number')
    const eventType = tenant.eventTypes.find((candidate) => candidate.id === body.eventTypeId)
    if (!eventType) throw notFound(`Event type with id=${body.eventTypeId} was not found`)
    const now = clock()
    const start = isoStart(body.start, now)
    if (body.lengthInMinutes !== undefined && body.lengthInMinutes !== eventType.lengthMinutes) {
      throw bad('Can not book a lengthInMinutes that is not one of the event type lengths')
    }
    const attendee = attendeeOf(body.attendee)
    const metadata = metadataOf(body.metadata)
    const end = new Date(Date.parse(start) + eventType.lengthMinutes * 60_000).toISOString()
    if (store.overlapping(tenant.id, eventType.resource, start, end)) throw bad(SLOT_TAKEN_MESSAGE)
    const booking = store.insert({
      tenantId: tenant.id,
      eventTypeId: eventType.id,
      resource: eventType.resource,
      status: 'accepted',
      start,
      end,
      attendees: [attendee],
      metadata,
      cancellationReason: null,
      reschedulingReason: null,
      rescheduled: false,
      rescheduledFromUid: null,
      rescheduledToUid: null,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    })
    deps.emit(tenant, 'BOOKING_CREATED', booking)
    return send(reply, 201, tenant, booking)
  })

  app.get('/v2/bookings/:uid', async (request, reply) => {
    const tenant = deps.tenantOf(request)
    return send(reply, 200, tenant, owned(tenant, (request.params as { uid: string }).uid))
  })

  app.get('/v2/bookings', async (request) => {
    const tenant = deps.tenantOf(request)
    const query = request.query as Record<string, string | undefined>
    const now = clock().getTime()
    const statuses = query.status?.split(',') ?? []
    const eventTypeIds = [query.eventTypeId, ...(query.eventTypeIds?.split(',') ?? [])].filter(Boolean).map(Number)
    const matching = store
      .all()
      .filter((booking) => booking.tenantId === tenant.id)
      .filter((booking) => !query.attendeeEmail || booking.attendees.some((a) => a.email === query.attendeeEmail))
      .filter((booking) => eventTypeIds.length === 0 || eventTypeIds.includes(booking.eventTypeId))
      .filter((booking) => !query.afterStart || Date.parse(booking.start) >= Date.parse(query.afterStart))
      .filter((booking) => !query.beforeEnd || Date.parse(booking.end) <= Date.parse(query.beforeEnd))
      .filter(
        (booking) =>
          statuses.length === 0 ||
          (statuses.includes('cancelled') && booking.status === 'cancelled') ||
          (statuses.includes('upcoming') && booking.status === 'accepted' && Date.parse(booking.end) >= now) ||
          (statuses.includes('past') && booking.status === 'accepted' && Date.parse(booking.end) < now),
      )
      .sort((a, b) => Date.parse(a.start) - Date.parse(b.start))
    const take = Math.min(Number(query.take ?? 100) || 100, 250)
    const skip = Number(query.skip ?? 0) || 0
    const page = matching.slice(skip, skip + take)
    const totalPages = Math.max(1, Math.ceil(matching.length / take))
    return {
      status: 'success',
      data: page.map((booking) => bookingOutput(booking, tenant)),
      pagination: {
        totalItems: matching.length,
        itemsPerPage: take,
        itemsReturned: page.length,
        remainingItems: Math.max(0, matching.length - skip - page.length),
        currentPage: Math.floor(skip / take) + 1,
        totalPages,
        hasNextPage: skip + page.length < matching.length,
        hasPreviousPage: skip > 0,
      },
    }
  })

  app.post('/v2/bookings/:uid/cancel', async (request, reply) => {
    const tenant = deps.tenantOf(request)
    const booking = owned(tenant, (request.params as { uid: string }).uid)
    const body = object(request.body ?? {}, 'body')
    // Required in the published spec, and mandatory in practice for a host (calcom/README.md §2.4).
    if (typeof body.cancellationReason !== 'string' || body.cancellationReason === '') {
      throw bad('cancellationReason must be a string')
    }
    if (booking.status === 'cancelled') throw bad('This booking has already been cancelled.')
    const cancelled = store.update(booking.uid, {
      status: 'cancelled',
      cancellationReason: body.cancellationReason,
      updatedAt: clock().toISOString(),
    })
    deps.emit(tenant, 'BOOKING_CANCELLED', cancelled)
    return send(reply, 200, tenant, cancelled)
  })

  app.post('/v2/bookings/:uid/reschedule', async (request, reply) => {
    const tenant = deps.tenantOf(request)
    const booking = owned(tenant, (request.params as { uid: string }).uid)
    const body = object(request.body, 'body')
    if (booking.rescheduledToUid) {
      throw bad(`Booking ${booking.uid} was already rescheduled to ${booking.rescheduledToUid}`)
    }
    if (booking.status === 'cancelled') throw bad(`Booking ${booking.uid} is cancelled and cannot be rescheduled`)
    const now = clock()
    const start = isoStart(body.start, now)
    const length = Date.parse(booking.end) - Date.parse(booking.start)
    const end = new Date(Date.parse(start) + length).toISOString()
    if (store.overlapping(tenant.id, booking.resource, start, end, booking.uid)) throw bad(SLOT_TAKEN_MESSAGE)
    // A reschedule is a new booking; the old one is cancelled and points at it (calcom/README.md §2.5).
    const moved = store.insert({
      ...booking,
      start,
      end,
      reschedulingReason: typeof body.reschedulingReason === 'string' ? body.reschedulingReason : null,
      rescheduledFromUid: booking.uid,
      rescheduledToUid: null,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    })
    const old = store.update(booking.uid, {
      status: 'cancelled',
      rescheduled: true,
      rescheduledToUid: moved.uid,
      updatedAt: now.toISOString(),
    })
    deps.emit(tenant, 'BOOKING_RESCHEDULED', moved, old)
    return send(reply, 201, tenant, moved)
  })
}
