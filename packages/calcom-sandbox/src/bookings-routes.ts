import type { FastifyInstance, FastifyRequest } from 'fastify'
import { parseCancelBooking, parseCreateBooking, parseRescheduleBooking, refusePast } from './booking-inputs.ts'
import { bookingOutput } from './booking-output.ts'
import { badRequest, conflict, notFound } from './calcom-http-error.ts'
import { listBookings } from './list-bookings.ts'
import type { Booking, SandboxStore, SandboxTenant } from './sandbox-store.ts'
import type { WebhookEvent } from './webhook-body.ts'

/** Cal.com's message for a taken slot (calcom/README.md §3.2); clients match on its words. */
export const SLOT_TAKEN_MESSAGE = 'User either already has booking at this time or is not available'

/** The loser of a true race for one host and time (a unique-key violation in Cal.com's database). */
export const RACE_LOST_MESSAGE =
  'booking_conflict_error: another booking for this host and time was made at the same moment'

export interface BookingsRoutesDeps {
  store: SandboxStore
  clock: () => Date
  /** The tenant of the request's API key (the guard has already refused anything else). */
  tenantOf(request: FastifyRequest): SandboxTenant
  /** Queues a webhook for this change; it leaves once the answer is out. */
  emit(request: FastifyRequest, event: WebhookEvent): void
  /**
   * Awaited between a write's checks and the write itself: a delay fault waits here, which opens
   * the same window a real race has between Cal.com's availability check and its insert.
   */
  beforeCommit(request: FastifyRequest): Promise<void>
}

const success = (data: unknown) => ({ status: 'success', data })

function refuseUnmovable(booking: Booking): void {
  if (booking.status !== 'cancelled') return
  if (booking.rescheduled) {
    throw badRequest(
      `Can't reschedule booking with uid=${booking.uid} because it has been cancelled and rescheduled already to booking with uid=${booking.rescheduledToUid}. You probably want to reschedule ${booking.rescheduledToUid} instead by passing it within the request URL.`,
    )
  }
  throw badRequest(
    `Can't reschedule booking with uid=${booking.uid} because it has been cancelled. Please provide uid of a booking that is not cancelled.`,
  )
}

function refuseCancelled(booking: Booking): void {
  if (booking.status === 'cancelled') throw badRequest('This booking has already been cancelled.')
}

/**
 * The `/v2/bookings` endpoints of Cal.com API v2, version 2024-08-13 (calcom/README.md §2).
 * Each write checks, awaits `beforeCommit`, then re-checks and writes synchronously, so two
 * requests for one slot can never both succeed.
 */
export function bookingsRoutes(app: FastifyInstance, deps: BookingsRoutesDeps): void {
  const { store, clock } = deps

  function owned(tenant: SandboxTenant, uid: string): Booking {
    const booking = store.get(uid)
    // Another tenant's booking is as unknown as a made-up uid.
    if (!booking || booking.tenantId !== tenant.id) throw notFound(`Booking with uid=${uid} not found`)
    return booking
  }
  const uidOf = (request: FastifyRequest) => (request.params as { uid: string }).uid

  app.post('/v2/bookings', async (request, reply) => {
    const tenant = deps.tenantOf(request)
    const input = parseCreateBooking(request.body)
    const eventType = tenant.eventTypes.find((candidate) => candidate.id === input.eventTypeId)
    if (!eventType) throw notFound(`Event type with id ${input.eventTypeId} not found.`)
    if (input.lengthInMinutes !== undefined && input.lengthInMinutes !== eventType.lengthMinutes) {
      throw badRequest(
        `lengthInMinutes ${input.lengthInMinutes} is not a length of event type ${eventType.id}, which lasts ${eventType.lengthMinutes} minutes`,
      )
    }
    const now = clock()
    refusePast(input.start, now)
    const end = new Date(Date.parse(input.start) + eventType.lengthMinutes * 60_000).toISOString()
    if (store.findOverlap(tenant.id, eventType.resource, input.start, end)) throw badRequest(SLOT_TAKEN_MESSAGE)
    await deps.beforeCommit(request)
    const at = clock().toISOString()
    const booking = store.insertIfFree({
      tenantId: tenant.id,
      eventTypeId: eventType.id,
      resource: eventType.resource,
      status: 'accepted',
      start: input.start,
      end,
      attendees: [input.attendee],
      guests: input.guests,
      metadata: input.metadata,
      location: input.location,
      bookingFieldsResponses: input.bookingFieldsResponses,
      cancellationReason: null,
      reschedulingReason: null,
      rescheduled: false,
      rescheduledFromUid: null,
      rescheduledToUid: null,
      rescheduledByEmail: null,
      createdAt: at,
      updatedAt: at,
    })
    if (!booking) throw conflict(RACE_LOST_MESSAGE)
    deps.emit(request, { trigger: 'BOOKING_CREATED', booking })
    return reply.code(201).send(success(bookingOutput(booking)))
  })

  app.get('/v2/bookings/:uid', async (request) => {
    const tenant = deps.tenantOf(request)
    await deps.beforeCommit(request)
    return success(bookingOutput(owned(tenant, uidOf(request))))
  })

  app.get('/v2/bookings', async (request) => {
    const tenant = deps.tenantOf(request)
    await deps.beforeCommit(request)
    const ownBookings = store.all().filter((booking) => booking.tenantId === tenant.id)
    const page = listBookings(ownBookings, request.query, clock())
    return { status: 'success', data: page.data.map(bookingOutput), pagination: page.pagination }
  })

  app.post('/v2/bookings/:uid/cancel', async (request) => {
    const tenant = deps.tenantOf(request)
    const input = parseCancelBooking(request.body)
    refuseCancelled(owned(tenant, uidOf(request)))
    await deps.beforeCommit(request)
    const current = owned(tenant, uidOf(request))
    refuseCancelled(current)
    const cancelled = store.update(current.uid, {
      status: 'cancelled',
      cancellationReason: input.cancellationReason,
      updatedAt: clock().toISOString(),
    })
    deps.emit(request, { trigger: 'BOOKING_CANCELLED', booking: cancelled })
    // 200, not 201: the controller forces it with @HttpCode(OK).
    return success(bookingOutput(cancelled))
  })

  app.post('/v2/bookings/:uid/reschedule', async (request, reply) => {
    const tenant = deps.tenantOf(request)
    const input = parseRescheduleBooking(request.body)
    const original = owned(tenant, uidOf(request))
    refuseUnmovable(original)
    refusePast(input.start, clock())
    const end = new Date(Date.parse(input.start) + Date.parse(original.end) - Date.parse(original.start)).toISOString()
    // The booking being moved does not block its own new time.
    if (store.findOverlap(tenant.id, original.resource, input.start, end, original.uid)) {
      throw badRequest(SLOT_TAKEN_MESSAGE)
    }
    await deps.beforeCommit(request)
    const current = owned(tenant, original.uid)
    refuseUnmovable(current)
    const at = clock().toISOString()
    // A reschedule is a new booking with a new uid; the old one is cancelled and points at it.
    const moved = store.insertIfFree(
      {
        ...current,
        status: 'accepted',
        start: input.start,
        end,
        cancellationReason: null,
        reschedulingReason: input.reschedulingReason,
        rescheduled: false,
        rescheduledFromUid: current.uid,
        rescheduledToUid: null,
        rescheduledByEmail: input.rescheduledBy,
        createdAt: at,
        updatedAt: at,
      },
      current.uid,
    )
    if (!moved) throw conflict(RACE_LOST_MESSAGE)
    const previous = store.update(current.uid, {
      status: 'cancelled',
      rescheduled: true,
      rescheduledToUid: moved.uid,
      updatedAt: at,
    })
    deps.emit(request, { trigger: 'BOOKING_RESCHEDULED', booking: moved, previous })
    return reply.code(201).send(success(bookingOutput(moved)))
  })
}
