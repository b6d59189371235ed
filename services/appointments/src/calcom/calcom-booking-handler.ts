import type { CalcomBookingWebhook, VerifiedNoShow, VerifiedWebhook } from '@calsync/contracts'
import type { Logger, TenantRegistry } from '@calsync/service-kit'
import {
  type AppointmentSnapshot,
  firstSnapshot,
  type Initiator,
  minutesOf,
  nextSnapshot,
} from '../appointments/appointment.ts'
import type { AppointmentLocks, HeldLock } from '../appointments/appointment-lock.ts'
import type { AppointmentsStore } from '../appointments/appointments-store.ts'
import type { ChangeWriter } from '../appointments/change-writer.ts'
import type { Conflicts } from '../appointments/conflicts.ts'
import type { SlotClaims } from '../appointments/slot-claims.ts'
import { type AppointmentHistory, currentTraceId } from '../history/appointment-history.ts'
import { entryOfWebhook } from '../history/history-entries.ts'
import type { ReviewPublisher } from '../review/review-publisher.ts'
import type { ChainFact } from '../sync/booking-chain.ts'
import { withChainFacts } from '../sync/sync-state.ts'
import { type Decision, decideWebhook, type WebhookFacts } from './webhook-decision.ts'
import { normalisedAttendee, normalisedNotes, type Resolution, type Targets, webhookFacts } from './webhook-target.ts'
import type { WebhookWaits } from './webhook-waits.ts'

/** What a verified Cal.com webhook turned out to be (the `result` label of its metric). */
export type WebhookOutcome = 'applied' | 'conflict' | 'echo' | 'duplicate' | 'stale' | 'deferred' | 'review'

export interface Delivery {
  /** Where the message is stored, so a review item can name it and a retry replay it. */
  stream: string
  streamSequence: number
  subject: string
  deliveryCount: number
  /** The last delivery that may still wait: waiting past it goes to review. */
  lastChance: boolean
  /** Messages stored for the consumer and not delivered yet, at this delivery (JetStream's count). */
  pending: number
}

/** Outcomes that change no version yet belong in the appointment's history. */
const NOTED_OUTCOMES: ReadonlySet<string> = new Set(['echo', 'review', 'stale'])

/** Who acted on Cal.com, when its webhook says (a cancel's `cancelledBy`, a reschedule's `rescheduledBy`). */
function actorOf(webhook: CalcomBookingWebhook): string | null {
  const payload = webhook.payload as Record<string, unknown>
  for (const key of ['cancelledBy', 'rescheduledBy']) {
    const value = payload[key]
    if (typeof value === 'string' && value.length > 0 && value.length <= 320) return value
  }
  return null
}

export const DEFAULT_UNKNOWN_RESCHEDULE_GRACE_MS = 60_000

/** A webhook waits this long for another change of its appointment; then it is redelivered. */
const LOCK_WAIT_MS = 2000

/**
 * Carries out what `decideWebhook` says, under the lock of the appointment the webhook concerns.
 * Changes from Cal.com are written with origin `calcom` and never claim exclusively: a booking
 * Cal.com holds is kept, and an overlap becomes a double booking to review (I2).
 */
export function createCalcomBookingHandler(deps: {
  store: AppointmentsStore
  claims: SlotClaims
  locks: AppointmentLocks
  writer: ChangeWriter
  conflicts: Conflicts
  targets: Targets
  tenants: TenantRegistry
  reviews: ReviewPublisher
  history: AppointmentHistory
  waits: WebhookWaits
  logger: Logger
  clock?: () => Date
  /**
   * How long a reschedule or cancel of a booking calsync never saw waits for that booking's own
   * webhook (late or retried: Cal.com's retries come 10 s and more apart) before it is taken as it
   * stands; counted from calsync's first look at it (rows 31, 32).
   */
  unknownRescheduleGraceMs?: number
}) {
  const { store, writer, reviews } = deps
  const clock = deps.clock ?? (() => new Date())
  const graceMs = deps.unknownRescheduleGraceMs ?? DEFAULT_UNKNOWN_RESCHEDULE_GRACE_MS

  async function reportDoubleBooking(snapshot: AppointmentSnapshot, partners: string[], facts: WebhookFacts) {
    await reviews.doubleBooking(snapshot.tenantId, [snapshot.id, ...partners], {
      calcomBookingUid: facts.uid,
      start: facts.start,
      end: facts.end,
      eventTypeId: facts.eventTypeId,
    })
    for (const [id, others] of [
      [snapshot.id, partners] as const,
      ...partners.map((p) => [p, [snapshot.id]] as const),
    ]) {
      await deps.history.note(snapshot.tenantId, id, {
        at: snapshot.updatedAt,
        what: 'conflict',
        who: 'calcom webhook',
        version: null,
        bookingUid: facts.uid,
        detail: `double booking with ${others.join(', ')} reported for review`,
        traceId: currentTraceId(),
      })
    }
    deps.logger.warn(
      { tenantId: snapshot.tenantId, appointmentId: snapshot.id, partners, bookingUid: facts.uid },
      'double booking detected',
    )
  }

  /** A redelivery of a booking made from Cal.com: look at its minutes again and report what overlaps. */
  async function recheck(lock: HeldLock, current: AppointmentSnapshot, facts: WebhookFacts): Promise<WebhookOutcome> {
    if (current.status !== 'booked') return 'duplicate'
    const claimant = { ...current, appointmentId: current.id, op: `recheck:${lock.appointmentId}:v${current.version}` }
    const contested = await writer.contest(current, claimant, minutesOf(current.start, current.end), 'keep')
    const marked = (await store.partnersOf(current.id, current.version)).map((mark) => mark.partner)
    const partners = [...new Set([...marked, ...contested.partners])]
    if (partners.length === 0) return 'duplicate'
    await reportDoubleBooking(current, partners, facts)
    return 'conflict'
  }

  /** Facts that change no version (an echo we learn a uid from, a cancel we already had): the chain only. */
  async function record(appointmentId: string, tenantId: string, facts: ChainFact[]): Promise<void> {
    if (facts.length === 0) return
    const sync = await store.syncDoc(appointmentId)
    if (!sync) return
    await store.syncStates.replaceOne({ _id: appointmentId }, withChainFacts(sync, facts, clock()))
    for (const fact of facts) await store.link(tenantId, fact.uid, appointmentId, clock())
  }

  /** A change Cal.com made: it keeps what Cal.com holds, and an overlap becomes a double booking (I2). */
  async function writeFromCalcom(
    lock: HeldLock,
    previous: AppointmentSnapshot | undefined,
    next: AppointmentSnapshot,
    chainFacts: ChainFact[],
    context: { facts: WebhookFacts; initiatedBy: Initiator },
  ): Promise<WebhookOutcome> {
    const outcome = await writer.write(lock, {
      previous,
      next,
      initiatedBy: context.initiatedBy,
      mode: 'keep-both',
      chainFacts,
    })
    if (outcome.partners.length === 0) return 'applied'
    await reportDoubleBooking(next, outcome.partners, context.facts)
    return 'conflict'
  }

  /**
   * Whether a webhook about a booking calsync never saw has given that booking's own webhooks their
   * chance: the grace has passed since calsync first looked at it, and nothing stored for the
   * consumer is still undelivered (a backlog may hold them; their redeliveries come within 30 s,
   * less than the grace).
   */
  async function waitedOut(message: VerifiedWebhook, facts: WebhookFacts, delivery: Delivery): Promise<boolean> {
    const first = await deps.waits.firstLook(message.tenantId, message.deliveryId, clock())
    if (delivery.pending > 0 || clock().getTime() - first.getTime() < graceMs) return false
    // The booking it names may be on its way inside calsync: a waiting CREATED of it, or move to it.
    const named = facts.trigger === 'BOOKING_CANCELLED' ? facts.uid : facts.rescheduleUid
    return !named || !(await deps.waits.isBeingBrought(message.tenantId, named))
  }

  /**
   * Keeps the marks rows 31 and 32 read: a waiting CREATED or move marks the uid it brings, and
   * unmarks it when done. A first look is deleted only by the delivery that made or read it; the
   * rest are pruned with the day's left-overs (retention.ts), so a redelivery pays nothing for them.
   */
  async function settleWaitMarks(
    message: VerifiedWebhook,
    facts: WebhookFacts,
    delivery: Delivery,
    outcome: WebhookOutcome,
    looked: boolean,
  ): Promise<void> {
    const { tenantId, deliveryId } = message
    const brought = broughtUid(facts)
    if (brought && outcome === 'deferred') await deps.waits.bringing(tenantId, brought, deliveryId, clock())
    if (outcome === 'deferred') return
    const cleanups: Promise<void>[] = []
    if (brought && delivery.deliveryCount > 1) cleanups.push(deps.waits.broughtOrGone(tenantId, brought, deliveryId))
    if (looked) cleanups.push(deps.waits.forget(tenantId, deliveryId))
    for (const result of await Promise.allSettled(cleanups)) {
      if (result.status === 'rejected')
        deps.logger.warn({ err: result.reason, tenantId }, 'could not clear a webhook wait (pruned within a day)')
    }
  }

  /** What a CREATED or a move brings into being; a cancel brings nothing. */
  const broughtUid = (facts: WebhookFacts) => (facts.trigger === 'BOOKING_CANCELLED' ? undefined : facts.uid)

  async function act(
    lock: HeldLock,
    decision: Decision,
    context: {
      tenantId: string
      webhook: CalcomBookingWebhook
      facts: WebhookFacts
      initiatedBy: Initiator
      current?: AppointmentSnapshot
    },
    delivery: Delivery,
    message: VerifiedWebhook,
  ): Promise<WebhookOutcome | 'retry'> {
    const { tenantId, facts, current } = context
    const now = clock()
    switch (decision.kind) {
      case 'create': {
        // The uids are claimed for the new appointment first: a uid belongs to one appointment only
        // (a predecessor someone claimed meanwhile is found by the next round's resolution).
        for (const uid of new Set([...decision.facts.map((fact) => fact.uid), facts.uid])) {
          if ((await store.link(tenantId, uid, lock.appointmentId, now)) !== lock.appointmentId) return 'retry'
        }
        if (!facts.eventType) throw new Error('a booking without a configured event type reached create')
        const snapshot = firstSnapshot({
          id: lock.appointmentId,
          tenantId,
          eventType: facts.eventType,
          start: new Date(facts.start),
          end: new Date(facts.end),
          origin: 'calcom',
          attendee: normalisedAttendee(context.webhook),
          notes: normalisedNotes(context.webhook),
          calcomBookingUid: facts.uid,
          now,
        })
        const created = {
          ...snapshot,
          ...(decision.status ? { status: decision.status } : {}),
          ...(facts.awaiting ? { awaiting: facts.awaiting } : {}),
        }
        return writeFromCalcom(lock, undefined, created, decision.facts, context)
      }
      case 'reschedule':
      case 'cancel': {
        if (!current) return 'retry'
        const awaiting = facts.awaiting ?? undefined
        const change =
          decision.kind === 'cancel'
            ? { status: 'cancelled' as const, awaiting }
            : { start: facts.start, end: facts.end, status: 'booked' as const, calcomBookingUid: facts.uid, awaiting }
        // The bookings it adds to the chain (the new one, and an unseen one before it: row 33).
        const added =
          decision.kind === 'reschedule' ? [...new Set([...decision.facts.map((f) => f.uid), facts.uid])] : []
        for (const uid of added) {
          if ((await store.link(tenantId, uid, current.id, now)) === current.id) continue
          await reviews.unappliedWebhook(
            message,
            delivery,
            [current.id],
            'conflicting_state',
            `booking ${uid} already belongs to another appointment`,
          )
          return 'review'
        }
        return writeFromCalcom(lock, current, nextSnapshot(current, change, 'calcom', now), decision.facts, context)
      }
      case 'confirm':
        if (!current) return 'retry'
        return writeFromCalcom(
          lock,
          current,
          nextSnapshot(current, { awaiting: undefined }, 'calcom', now),
          [],
          context,
        )
      case 'echo':
        if (current) await record(current.id, tenantId, decision.facts)
        return 'echo'
      case 'duplicate':
        if (current) await record(current.id, tenantId, decision.facts)
        return current && decision.recheck ? recheck(lock, current, facts) : 'duplicate'
      case 'stale':
        return 'stale'
      case 'defer':
        // Why it waits: what a webhook stuck until its last chance is diagnosed by.
        deps.logger.debug(
          { tenantId, bookingUid: facts.uid, appointmentId: current?.id, reason: decision.reason },
          'webhook deferred',
        )
        return 'deferred'
      case 'review':
        await reviews.unappliedWebhook(message, delivery, current ? [current.id] : [], decision.code, decision.message)
        return 'review'
    }
  }

  return {
    /**
     * A host's no-show marks, noted in the history of the appointment the booking belongs to:
     * they change neither the slot nor Cal.com. False when calsync does not know the booking.
     */
    async noShow(message: VerifiedNoShow): Promise<boolean> {
      const { tenantId, webhook } = message
      const appointmentId = await store.linkedAppointmentId(tenantId, webhook.payload.bookingUid)
      if (!appointmentId) return false
      const marks = (webhook.payload.attendees ?? []).map(
        (attendee) => `${attendee.email} ${attendee.noShow ? 'did not show' : 'showed'}`,
      )
      await deps.history.note(tenantId, appointmentId, {
        at: message.receivedAt,
        what: 'no_show',
        who: 'calcom webhook',
        version: null,
        bookingUid: webhook.payload.bookingUid,
        detail: marks.length > 0 ? `no-show updated: ${marks.join(', ')}` : 'no-show updated',
        traceId: currentTraceId(),
      })
      return true
    },

    async handle(message: VerifiedWebhook, delivery: Delivery): Promise<WebhookOutcome> {
      const { tenantId, webhook } = message
      const initiatedBy: Initiator = { origin: 'calcom', via: `webhook:${message.deliveryId.slice(0, 16)}` }
      const facts = webhookFacts(tenantId, webhook, deps.tenants)
      let useMetadata = true
      let looked = false
      for (let round = 0; round < 3; round++) {
        const resolution: Resolution = await deps.targets.resolve(tenantId, facts, { useMetadata })
        const outcome = await deps.locks.withLock(resolution.appointmentId, { waitMs: LOCK_WAIT_MS }, async (lock) => {
          await writer.recover(lock)
          const target = await deps.targets.load(tenantId, resolution)
          // A copy of this webhook made the appointment while this one waited for its lock: find it
          // by its uid (writing its first version again could only lose, and cost a round of undo).
          if (resolution.via === 'new' && (await store.event(resolution.appointmentId, 1))) {
            return 'retry' as const
          }
          let decision = decideWebhook(facts, target, { lastChance: delivery.lastChance })
          // Rows 31–33: it names a booking calsync never saw, and no appointment knows it (or only
          // the one its metadata names, which does not have it in its chain).
          const unseen = !target || facts.metadataAppointmentId === target.appointment.id
          if (decision.kind === 'defer' && decision.reason === 'unknown_booking' && unseen) {
            looked = true
            if (await waitedOut(message, facts, delivery)) {
              decision = decideWebhook(facts, target, { lastChance: delivery.lastChance, waitedOut: true })
            }
          }
          // The metadata named an appointment that is not waiting for this booking: a booking of its own.
          if (decision.kind === 'create' && resolution.via === 'metadata') return 'retry' as const
          const done = await act(
            lock,
            decision,
            { tenantId, webhook, facts, initiatedBy, ...(target ? { current: target.appointment } : {}) },
            delivery,
            message,
          )
          // What changed no version goes into the appointment's story beside its versions.
          if (target && NOTED_OUTCOMES.has(done)) {
            await deps.history.note(
              tenantId,
              target.appointment.id,
              entryOfWebhook({
                at: message.receivedAt,
                outcome: done,
                trigger: webhook.triggerEvent,
                bookingUid: facts.uid,
                viaReconciler: message.via === 'reconciler',
                actor: actorOf(webhook),
                traceId: currentTraceId(),
              }),
            )
          }
          return done
        })
        if (outcome !== 'retry') {
          await settleWaitMarks(message, facts, delivery, outcome, looked)
          return outcome
        }
        if (resolution.via === 'metadata') useMetadata = false
      }
      return 'deferred'
    },
  }
}

export type CalcomBookingHandler = ReturnType<typeof createCalcomBookingHandler>
