import {
  BOOKING_TRIGGERS,
  type BookingTrigger,
  type CalcomBookingWebhook,
  calsyncAppointmentIdOf,
  ERROR_CODES,
  MAX_REPORTED_DIFFERENCES,
  type ReconcileDifference,
  type ReconcileViewReply,
  type ReconcileViewRequest,
  type ReviewRequest,
  type TenantReconcileReport,
  type TenantRecord,
} from '@calsync/contracts'
import { type Logger, sha256Hex } from '@calsync/service-kit'
import type { CalcomBooking, CalcomClient } from '../calcom/calcom-client.ts'
import { CalcomError } from '../calcom/calcom-errors.ts'
import { walkBookings } from './booking-walk.ts'
import { type CalcomStatus, type Drift, MISSED_WEBHOOK_KINDS, planDrift, type SeenBooking } from './drift-plan.ts'
import type { ReconcileStateDoc, ReconcileStore } from './reconcile-store.ts'
import { type SilenceSettings, type SilenceVerdict, type Silent, silenceOf } from './webhook-silence.ts'

export interface ReconcilerSettings {
  /** Each pass re-reads this much before the watermark: a booking changed as the last pass read. */
  overlapMs: number
  /** The upcoming bookings compared in full every pass. */
  horizonMs: number
  /** How far back the first pass of a tenant looks. */
  initialLookbackMs: number
  /** Cal.com calls one pass may make (listings and look-ups); the rest waits for the next pass. */
  maxCallsPerPass: number
}

export const DEFAULT_RECONCILER_SETTINGS: ReconcilerSettings = {
  overlapMs: 10 * 60_000,
  horizonMs: 60 * 24 * 60 * 60_000,
  initialLookbackMs: 24 * 60 * 60_000,
  maxCallsPerPass: 60,
}

export interface ReconcilerDeps {
  /** A client whose every call spends the reconciler's share of the tenant's budget. */
  calcom: CalcomClient
  store: ReconcileStore
  /** The appointments service's answer to what calsync knows (request/reply). */
  view(request: ReconcileViewRequest): Promise<ReconcileViewReply>
  redrive(tenantId: string, appointmentIds: string[]): Promise<void>
  /** Publishes a missed Cal.com change as the verified webhook it should have been. */
  replay(tenantId: string, deliveryId: string, webhook: CalcomBookingWebhook): Promise<void>
  review(request: ReviewRequest): Promise<void>
  /** When the gateways last accepted a webhook of the tenant. */
  lastWebhookAt(tenantId: string): Promise<Date | null>
  /** The tenant's webhooks were judged after a pass (for the metric). */
  onSilence?(tenantId: string, silent: boolean): void
  /** A difference a pass acted on. */
  onDifference?(tenantId: string, kind: string): void
  settings: ReconcilerSettings
  silence: SilenceSettings
  logger: Logger
  clock?: () => Date
}

const STATUSES: Record<string, CalcomStatus> = {
  accepted: 'accepted',
  pending: 'pending',
  unconfirmed: 'pending',
  cancelled: 'cancelled',
  rejected: 'rejected',
}

function seen(booking: CalcomBooking): SeenBooking | undefined {
  const status = STATUSES[booking.status.toLowerCase()]
  if (!status) return undefined
  return {
    uid: booking.uid,
    status,
    start: booking.start,
    end: booking.end,
    eventTypeId: booking.eventTypeId,
    appointmentId: calsyncAppointmentIdOf(booking.metadata),
    rescheduledFromUid: booking.rescheduledFromUid ?? null,
    rescheduledToUid: booking.rescheduledToUid ?? null,
  }
}

/** The webhook Cal.com would have sent for this booking's change (calcom/README.md §5, §8). */
export function webhookFor(booking: CalcomBooking, trigger: BookingTrigger, rescheduleUid: string | null, at: Date) {
  const webhook: CalcomBookingWebhook = {
    triggerEvent: trigger,
    createdAt: at.toISOString(),
    payload: {
      uid: booking.uid,
      bookingId: booking.id,
      eventTypeId: booking.eventTypeId,
      startTime: booking.start,
      endTime: booking.end,
      attendees: booking.attendees.map((attendee) => ({
        name: attendee.name,
        email: attendee.email,
        timeZone: attendee.timeZone,
        ...(attendee.phoneNumber ? { phoneNumber: attendee.phoneNumber } : {}),
      })),
      metadata: booking.metadata ?? {},
      rescheduleUid,
      status: booking.status.toUpperCase(),
    },
  }
  return webhook
}

/** Replays of one change of one booking share an id, so JetStream keeps one within its window. */
export const replayDeliveryId = (tenantId: string, booking: CalcomBooking, trigger: string) =>
  `reconcile-${sha256Hex([tenantId, booking.uid, trigger, booking.status, booking.start].join('\n')).slice(0, 40)}`

/** One cause per set of bookings and appointments: a drift found again is the same review item. */
const driftCauseId = (tenantId: string, drift: Drift) => {
  const uids = drift.action.kind === 'review' ? [...drift.action.uids].sort() : [drift.uid ?? '']
  return `drift:${sha256Hex([tenantId, drift.kind, drift.appointmentId ?? '', ...uids].join('\n')).slice(0, 40)}`
}

const isKnownTrigger = (trigger: string): trigger is BookingTrigger =>
  (BOOKING_TRIGGERS as readonly string[]).includes(trigger)

/**
 * One reconcile pass for one tenant: list what changed on Cal.com since the watermark and every
 * upcoming booking, ask the appointments service what calsync knows of them, plan (drift-plan.ts),
 * look up what the listing could not tell, and act — or, in a dry run, only report.
 */
export function createTenantReconciler(deps: ReconcilerDeps) {
  const clock = deps.clock ?? (() => new Date())
  const log = deps.logger.child({ component: 'reconciler' })

  async function pass(tenant: TenantRecord, dryRun: boolean): Promise<TenantReconcileReport> {
    const started = clock()
    const { settings } = deps
    const apiKey = tenant.calcom.apiKey
    const state = await deps.store.state(tenant.id)
    const watermark = state ? Date.parse(state.watermark) : started.getTime() - settings.initialLookbackMs
    const since = new Date(watermark - settings.overlapMs).toISOString()
    const window = {
      from: started.toISOString(),
      to: new Date(started.getTime() + settings.horizonMs).toISOString(),
    }
    const query = { eventTypeIds: tenant.calcom.eventTypes.map((eventType) => eventType.id).join(',') }
    const list = (page: Parameters<CalcomClient['listBookings']>[1]) => deps.calcom.listBookings(apiKey, page)
    const bookings = new Map<string, CalcomBooking>()
    let calls = 0
    let truncated = false
    const walk = async (field: 'createdAt' | 'updatedAt', extra: object, from: string) => {
      const result = await walkBookings({
        list,
        query: { ...query, ...extra },
        field,
        since: from,
        maxCalls: Math.max(1, settings.maxCallsPerPass - calls),
        into: bookings,
      })
      calls += result.calls
      truncated ||= result.truncated
    }
    await walk('createdAt', {}, since)
    await walk('updatedAt', {}, since)
    await walk('createdAt', { afterStart: window.from, beforeEnd: window.to }, new Date(0).toISOString())

    const notFound: string[] = []
    const viewOf = async () => {
      const observed = [...bookings.values()]
      const uids = new Set<string>()
      const appointmentIds = new Set<string>()
      for (const booking of observed) {
        uids.add(booking.uid)
        if (booking.rescheduledFromUid) uids.add(booking.rescheduledFromUid)
        if (booking.rescheduledToUid) uids.add(booking.rescheduledToUid)
        const named = calsyncAppointmentIdOf(booking.metadata)
        if (named) appointmentIds.add(named)
      }
      return deps.view({
        type: 'appointments.reconcile_view',
        tenantId: tenant.id,
        uids: [...uids],
        appointmentIds: [...appointmentIds],
        window,
        asOf: started.toISOString(),
      })
    }
    const planOf = (view: ReconcileViewReply) =>
      planDrift({
        bookings: [...bookings.values()].flatMap((booking) => seen(booking) ?? []),
        appointments: view.appointments,
        window,
        notFound,
      })

    let view = await viewOf()
    let plan = planOf(view)
    if (plan.lookups.length > 0) {
      for (const uid of plan.lookups) {
        if (calls >= settings.maxCallsPerPass) {
          truncated = true
          break
        }
        calls++
        try {
          const booking = await deps.calcom.getBooking(apiKey, uid)
          bookings.set(booking.uid, booking)
        } catch (error) {
          if (!(error instanceof CalcomError && error.status === 404)) throw error
          notFound.push(uid)
        }
      }
      view = await viewOf()
      plan = planOf(view)
    }

    const differences: ReconcileDifference[] = []
    const redrives: string[] = []
    for (const drift of plan.drifts) {
      // Still to look up (the look-ups ran out): the next pass decides.
      const difference: ReconcileDifference = {
        kind: drift.kind,
        uid: drift.uid,
        appointmentId: drift.appointmentId,
        detail: drift.detail,
        action: drift.action.kind === 'replay' ? 'replay_webhook' : drift.action.kind,
        ...(drift.action.kind === 'replay'
          ? { trigger: drift.action.replays.map((replay) => replay.trigger).join(', ') }
          : {}),
        done: false,
      }
      differences.push(difference)
      if (dryRun) continue
      deps.onDifference?.(tenant.id, drift.kind)
      const { action } = drift
      if (action.kind === 'replay') {
        const replays = action.replays.flatMap((replay) => {
          const booking = bookings.get(replay.uid)
          return booking && isKnownTrigger(replay.trigger) ? [{ replay, booking, trigger: replay.trigger }] : []
        })
        if (replays.length < action.replays.length) continue
        for (const { replay, booking, trigger } of replays) {
          const webhook = webhookFor(booking, trigger, replay.rescheduleUid, clock())
          await deps.replay(tenant.id, replayDeliveryId(tenant.id, booking, trigger), webhook)
        }
        difference.done = true
      } else if (action.kind === 'redrive') {
        redrives.push(action.appointmentId)
        difference.done = true
      } else {
        await deps.review({
          type: 'review.requested',
          kind: 'drift',
          causeId: driftCauseId(tenant.id, drift),
          tenantId: tenant.id,
          appointmentIds: action.appointmentIds,
          errorCode: ERROR_CODES.drift,
          errorMessage: drift.detail,
          attempts: 0,
          at: clock().toISOString(),
          detail: {
            driftKind: drift.kind,
            bookingUids: action.uids,
            calcom: action.uids.map((uid) => bookings.get(uid)),
          },
        })
        difference.done = true
      }
    }
    if (redrives.length > 0) await deps.redrive(tenant.id, redrives)

    const missed = plan.drifts.filter((drift) => MISSED_WEBHOOK_KINDS.includes(drift.kind)).length
    let silence: SilenceVerdict | undefined
    if (!dryRun && !truncated && !view.truncated) {
      silence = await judgeSilence(tenant.id, state, missed, [...bookings.values()])
      await deps.store.passed(tenant.id, {
        startedAt: started.toISOString(),
        missed,
        silence:
          silence.state === 'silent'
            ? {
                reason: silence.reason,
                since: new Date(silence.since).toISOString(),
                lastHeard: silence.lastHeard === null ? null : new Date(silence.lastHeard).toISOString(),
              }
            : null,
      })
    }
    const report: TenantReconcileReport = {
      tenantId: tenant.id,
      dryRun,
      startedAt: started.toISOString(),
      finishedAt: clock().toISOString(),
      calcomCalls: calls,
      bookingsSeen: bookings.size,
      appointmentsCompared: view.appointments.length,
      differences: differences.slice(0, MAX_REPORTED_DIFFERENCES),
      differencesTotal: differences.length,
      settling: plan.settling,
      ...(silence
        ? {
            silence:
              silence.state === 'silent'
                ? { state: 'silent' as const, reason: silence.reason, since: new Date(silence.since).toISOString() }
                : { state: 'flowing' as const },
          }
        : {}),
    }
    log.info(
      {
        tenantId: tenant.id,
        dryRun,
        calcomCalls: calls,
        bookingsSeen: bookings.size,
        differences: differences.length,
        missed,
        truncated: truncated || view.truncated,
      },
      'reconcile pass finished',
    )
    return report
  }

  /**
   * Judges the tenant's webhooks after a pass and tells the review service when that changed: a
   * `webhook_silence` item per silence (repeated each pass while it lasts, so a lost publish is
   * made good), resolved once webhooks flow again. Publishes before the state is stored.
   */
  async function judgeSilence(
    tenantId: string,
    state: ReconcileStateDoc | undefined,
    missed: number,
    listed: CalcomBooking[],
  ): Promise<SilenceVerdict> {
    const now = clock()
    const changes = listed.flatMap((booking) =>
      [booking.createdAt, booking.updatedAt].flatMap((at) => (at ? [Date.parse(at)] : [])).filter(Number.isFinite),
    )
    const flagged: Silent | null = state?.silence
      ? {
          state: 'silent',
          reason: state.silence.reason,
          since: Date.parse(state.silence.since),
          lastHeard: state.silence.lastHeard ? Date.parse(state.silence.lastHeard) : null,
        }
      : null
    const lastWebhook = await deps.lastWebhookAt(tenantId)
    const verdict = silenceOf(
      {
        now: now.getTime(),
        lastWebhookAt: lastWebhook?.getTime() ?? null,
        recentMissed: [...(state?.recentMissed ?? []), missed],
        newestChangeAt: changes.length > 0 ? Math.max(...changes) : null,
        flagged,
      },
      deps.silence,
    )
    const episode = verdict.state === 'silent' ? verdict : flagged
    if (episode) {
      const since = new Date(episode.since).toISOString()
      const silent = verdict.state === 'silent'
      await deps.review({
        type: 'review.requested',
        kind: 'webhook_silence',
        causeId: `webhook_silence:${tenantId}:${since}`,
        tenantId,
        appointmentIds: [],
        errorCode: ERROR_CODES.webhookSilence,
        errorMessage: silent
          ? episode.reason === 'missed_repeatedly'
            ? 'reconcile passes keep finding Cal.com changes no webhook told: check the webhook subscription'
            : `no Cal.com webhook accepted since ${lastWebhook?.toISOString() ?? 'ever'}, though Cal.com changed since`
          : 'resolved: webhooks flow again',
        attempts: 0,
        at: now.toISOString(),
        detail: {
          reason: episode.reason,
          since,
          lastWebhookAt: lastWebhook?.toISOString() ?? null,
          missedLastPass: missed,
        },
        ...(silent ? {} : { resolved: true }),
      })
    }
    if (episode) {
      log.info(
        { tenantId, verdict, lastWebhookAt: lastWebhook?.toISOString() ?? null, missed },
        verdict.state === 'silent' ? 'webhooks silent' : 'webhooks flow again',
      )
    }
    deps.onSilence?.(tenantId, verdict.state === 'silent')
    return verdict
  }

  return { pass }
}

export type TenantReconciler = ReturnType<typeof createTenantReconciler>
