import {
  type CalcomBookingPayload,
  type CalcomBookingWebhook,
  calsyncAppointmentIdOf,
  type EventTypeMapping,
} from '@calsync/contracts'
import type { Logger, TenantRegistry } from '@calsync/service-kit'
import {
  type AppointmentSnapshot,
  appointmentIdForBooking,
  firstSnapshot,
  type Initiator,
  minutesOf,
  nextSnapshot,
} from '../appointments/appointment.ts'
import { type AppointmentDoc, type AppointmentsStore, snapshotOfDoc } from '../appointments/appointments-store.ts'
import type { ChangeRecorder } from '../appointments/change-recorder.ts'
import type { SlotClaims } from '../appointments/slot-claims.ts'
import { ConcurrentChangeError } from '../errors.ts'
import type { ReviewPublisher } from '../review/review-publisher.ts'

/**
 * What a verified Cal.com webhook turned out to be: `echo` reports a change calsync made itself,
 * `duplicate` one from Cal.com that is already applied, `deferred` one about a booking whose
 * earlier webhook may still be in flight (look again later).
 */
export type WebhookOutcome = 'applied' | 'conflict' | 'echo' | 'duplicate' | 'ignored' | 'deferred'

export interface HandleOptions {
  /**
   * Webhooks are handled concurrently, so a cancel or a reschedule can overtake the webhook that
   * introduces its booking. Until the last chance such a webhook is deferred; then the booking
   * is taken as one calsync never saw.
   */
  lastChance: boolean
}

export interface CalcomBookingHandlerDeps {
  store: AppointmentsStore
  claims: SlotClaims
  recorder: ChangeRecorder
  tenants: TenantRegistry
  reviews: ReviewPublisher
  logger: Logger
  clock?: () => Date
}

/**
 * Applies Cal.com's booking changes with origin `calcom`. Every path is safe to run twice: the
 * appointment id of a Cal.com booking is derived from its uid, uids are linked by unique insert,
 * and a change is written before its uid is linked, so a redelivery after a crash finishes the job.
 */
export function createCalcomBookingHandler(deps: CalcomBookingHandlerDeps) {
  const { store, claims, recorder, reviews } = deps
  const clock = deps.clock ?? (() => new Date())

  function interval(payload: CalcomBookingPayload) {
    return { start: new Date(payload.startTime).toISOString(), end: new Date(payload.endTime).toISOString() }
  }

  function eventTypeOf(tenantId: string, eventTypeId: number): EventTypeMapping | undefined {
    return deps.tenants.get(tenantId)?.calcom.eventTypes.find((eventType) => eventType.id === eventTypeId)
  }

  /** Marks every appointment in a double booking as `conflict` and sends one review item (I2). */
  async function reportConflict(
    tenantId: string,
    appointmentId: string,
    holders: string[],
    payload: CalcomBookingPayload,
  ) {
    await store.markConflict(tenantId, [appointmentId, ...holders], clock())
    await reviews.doubleBooking(tenantId, [appointmentId, ...holders], {
      calcomBookingUid: payload.uid,
      start: payload.startTime,
      end: payload.endTime,
      eventTypeId: payload.eventTypeId,
    })
    deps.logger.warn({ tenantId, appointmentId, holders, bookingUid: payload.uid }, 'double booking detected')
  }

  /**
   * Whether calsync itself once put the appointment at this time: the echo of one of our own
   * reschedules can arrive after the appointment moved on (even after it was cancelled), and
   * must not drag it back.
   */
  async function wasOurs(appointmentId: string, start: string, end: string): Promise<boolean> {
    const matches = await store.events.countDocuments(
      { appointmentId, 'snapshot.start': start, 'snapshot.end': end, origin: { $ne: 'calcom' } },
      { limit: 1 },
    )
    return matches > 0
  }

  /**
   * A webhook for a uid already linked changes nothing. It is an echo when calsync made the latest
   * change itself: calcom-sync's result usually links the uid before Cal.com's webhook arrives.
   */
  async function repeated(tenantId: string, uid: string): Promise<WebhookOutcome> {
    const doc = await store.findByBookingUid(tenantId, uid)
    return doc && doc.origin !== 'calcom' ? 'echo' : 'duplicate'
  }

  /** Claims the minutes; on a conflict keeps what is free and returns who holds the rest. */
  async function claimOrCollide(tenantId: string, resource: string, minutes: string[], id: string): Promise<string[]> {
    const claim = await claims.claim(tenantId, resource, minutes, id, clock())
    if (claim.ok) return []
    return claims.claimFree(tenantId, resource, minutes, id, clock())
  }

  async function created(
    tenantId: string,
    payload: CalcomBookingPayload,
    initiatedBy: Initiator,
  ): Promise<WebhookOutcome> {
    if (await store.isLinked(tenantId, payload.uid)) return repeated(tenantId, payload.uid)
    // Our own booking coming back (loop prevention, layer 2): only remember its uid.
    const ownId = calsyncAppointmentIdOf(payload.metadata ?? undefined)
    const own = ownId ? await store.find(tenantId, ownId) : undefined
    if (own) {
      // Only the link: the sync state has one writer, the sync-result consumer (FerretDB would lose
      // one of two concurrent updates of the same document).
      await store.link(tenantId, payload.uid, own._id, clock())
      return 'echo'
    }
    const eventType = eventTypeOf(tenantId, payload.eventTypeId)
    if (!eventType) {
      deps.logger.warn({ tenantId, eventTypeId: payload.eventTypeId }, 'booking for an event type no longer configured')
      return 'ignored'
    }
    const id = appointmentIdForBooking(tenantId, payload.uid)
    const existing = await store.find(tenantId, id)
    if (existing) return finishExisting(existing, payload)

    const { start, end } = interval(payload)
    const holders = await claimOrCollide(tenantId, eventType.resource, minutesOf(start, end), id)
    const attendee = payload.attendees[0]
    const snapshot = firstSnapshot({
      id,
      tenantId,
      eventType,
      start: new Date(start),
      end: new Date(end),
      origin: 'calcom',
      attendee: {
        name: attendee?.name ?? 'unknown',
        email: attendee?.email ?? 'unknown@invalid',
        timeZone: attendee?.timeZone ?? 'UTC',
        ...(attendee?.phoneNumber ? { phoneNumber: attendee.phoneNumber } : {}),
      },
      notes: payload.additionalNotes ?? undefined,
      calcomBookingUid: payload.uid,
      now: clock(),
    })
    try {
      await recorder.record({ previous: undefined, next: snapshot, initiatedBy })
    } catch (error) {
      if (!(error instanceof ConcurrentChangeError)) throw error
      return 'duplicate'
    }
    await store.link(tenantId, payload.uid, id, clock())
    if (holders.length > 0) {
      await reportConflict(tenantId, id, holders, payload)
      return 'conflict'
    }
    return 'applied'
  }

  /** A redelivery after a crash: link the uid and redo a conflict report (both idempotent). */
  async function finishExisting(existing: AppointmentDoc, payload: CalcomBookingPayload): Promise<WebhookOutcome> {
    await store.link(existing.tenantId, payload.uid, existing._id, clock())
    const state = await store.syncState(existing.tenantId, existing._id)
    if (state?.status !== 'conflict') return 'duplicate'
    const holders = await claims.claimFree(
      existing.tenantId,
      existing.resource,
      minutesOf(existing.start, existing.end),
      existing._id,
      clock(),
    )
    if (holders.length > 0) await reportConflict(existing.tenantId, existing._id, holders, payload)
    return 'conflict'
  }

  async function cancelled(
    tenantId: string,
    payload: CalcomBookingPayload,
    initiatedBy: Initiator,
    options: HandleOptions,
  ): Promise<WebhookOutcome> {
    const doc = await store.findByBookingUid(tenantId, payload.uid)
    if (!doc && !options.lastChance) return 'deferred'
    if (!doc) {
      deps.logger.warn({ tenantId, bookingUid: payload.uid }, 'cancellation for a booking calsync does not know')
      return 'ignored'
    }
    if (doc.status === 'cancelled') return doc.origin === 'calcom' ? 'duplicate' : 'echo'
    // An older uid of a reschedule chain: that booking was replaced, the appointment lives on.
    const currentUid = await store.currentBookingUid(tenantId, doc._id)
    if (currentUid && currentUid !== payload.uid) return 'ignored'
    const current = snapshotOfDoc(doc)
    const next = nextSnapshot(current, { status: 'cancelled' }, 'calcom', clock())
    // A concurrent change taking this version throws: the message is redelivered and looks again.
    await recorder.record({ previous: current, next, initiatedBy })
    await claims.releaseAll(doc._id)
    return 'applied'
  }

  async function rescheduled(
    tenantId: string,
    payload: CalcomBookingPayload,
    initiatedBy: Initiator,
    options: HandleOptions,
  ): Promise<WebhookOutcome> {
    if (await store.isLinked(tenantId, payload.uid)) return repeated(tenantId, payload.uid)
    const ownId = calsyncAppointmentIdOf(payload.metadata ?? undefined)
    const doc =
      (payload.rescheduleUid ? await store.findByBookingUid(tenantId, payload.rescheduleUid) : undefined) ??
      (ownId ? await store.find(tenantId, ownId) : undefined)
    if (!doc && !options.lastChance) return 'deferred'
    if (!doc) {
      deps.logger.warn(
        { tenantId, bookingUid: payload.uid, rescheduleUid: payload.rescheduleUid },
        'reschedule of an unknown booking; taking it as new',
      )
      return created(tenantId, payload, initiatedBy)
    }
    const { start, end } = interval(payload)
    const current = snapshotOfDoc(doc)
    if (
      (current.start === start && current.end === end && current.status === 'booked') ||
      (ownId === doc._id && (await wasOurs(doc._id, start, end)))
    ) {
      // Our own reschedule (or one already applied): follow the uid chain, change nothing.
      await store.link(tenantId, payload.uid, doc._id, clock())
      return 'echo'
    }
    const oldMinutes = current.status === 'booked' ? minutesOf(current.start, current.end) : []
    const owned = new Set(oldMinutes)
    const newMinutes = minutesOf(start, end)
    const holders = await claimOrCollide(
      tenantId,
      current.resource,
      newMinutes.filter((minute) => !owned.has(minute)),
      doc._id,
    )
    const next: AppointmentSnapshot = nextSnapshot(
      current,
      { start, end, status: 'booked', calcomBookingUid: payload.uid },
      'calcom',
      clock(),
    )
    await recorder.record({ previous: current, next, initiatedBy })
    const kept = new Set(newMinutes)
    await claims.release(
      tenantId,
      current.resource,
      oldMinutes.filter((minute) => !kept.has(minute)),
      doc._id,
    )
    await store.link(tenantId, payload.uid, doc._id, clock())
    if (holders.length > 0) {
      await reportConflict(tenantId, doc._id, holders, payload)
      return 'conflict'
    }
    return 'applied'
  }

  return {
    async handle(
      tenantId: string,
      deliveryId: string,
      webhook: CalcomBookingWebhook,
      options: HandleOptions = { lastChance: true },
    ): Promise<WebhookOutcome> {
      const initiatedBy: Initiator = { origin: 'calcom', via: `webhook:${deliveryId.slice(0, 16)}` }
      switch (webhook.triggerEvent) {
        case 'BOOKING_CREATED':
          return created(tenantId, webhook.payload, initiatedBy)
        case 'BOOKING_CANCELLED':
          return cancelled(tenantId, webhook.payload, initiatedBy, options)
        case 'BOOKING_RESCHEDULED':
          return rescheduled(tenantId, webhook.payload, initiatedBy, options)
      }
    },
  }
}

export type CalcomBookingHandler = ReturnType<typeof createCalcomBookingHandler>
