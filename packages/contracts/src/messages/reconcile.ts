import Type from 'typebox'
import { SyncStatus } from './appointment-event.ts'

const IsoTime = Type.String({ format: 'date-time' })
const Uid = Type.String({ minLength: 1, maxLength: 255 })

/**
 * Request/reply on `calsync.appointments.reconcile-view`: calcom-sync's reconciler asks the owner
 * of the appointment data what it knows about the bookings Cal.com listed (by uid), the
 * appointments their metadata names, and every appointment starting in `window`.
 */
export const ReconcileViewRequest = Type.Object(
  {
    type: Type.Literal('appointments.reconcile_view'),
    tenantId: Type.String({ minLength: 1 }),
    uids: Type.Array(Uid, { maxItems: 5000 }),
    appointmentIds: Type.Array(Type.String({ minLength: 1 }), { maxItems: 5000 }),
    window: Type.Object({ from: IsoTime, to: IsoTime }),
    /** When the reconciler began reading Cal.com: an appointment changed since is still settling. */
    asOf: IsoTime,
  },
  { additionalProperties: false },
)
export type ReconcileViewRequest = Type.Static<typeof ReconcileViewRequest>

export const ReconcileAppointment = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('booked'), Type.Literal('cancelled')]),
  start: IsoTime,
  syncStatus: SyncStatus,
  currentUid: Type.Union([Type.String(), Type.Null()]),
  uids: Type.Array(Type.String()),
  settling: Type.Boolean(),
})
export type ReconcileAppointment = Type.Static<typeof ReconcileAppointment>

export const ReconcileViewReply = Type.Object({
  appointments: Type.Array(ReconcileAppointment),
  /** The window held more appointments than one reply carries: the rest waits for the next pass. */
  truncated: Type.Boolean(),
})
export type ReconcileViewReply = Type.Static<typeof ReconcileViewReply>

/** Request/reply on `calsync.calcom-sync.reconcile`: one pass for a tenant (or every tenant), or its plan. */
export const ReconcileRequest = Type.Object(
  {
    type: Type.Literal('calcom_sync.reconcile'),
    tenantId: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    dryRun: Type.Boolean(),
    requestedBy: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
)
export type ReconcileRequest = Type.Static<typeof ReconcileRequest>

export const DRIFT_KINDS = [
  'missed_create',
  'missed_reschedule',
  'missed_cancel',
  'missing_on_calcom',
  'active_on_calcom_only',
  'time_mismatch',
  'ambiguous',
] as const

/** One difference and what the pass does (or, in a dry run, would do) about it. */
export const ReconcileDifference = Type.Object({
  kind: Type.Enum(DRIFT_KINDS),
  uid: Type.Union([Type.String(), Type.Null()]),
  appointmentId: Type.Union([Type.String(), Type.Null()]),
  detail: Type.String(),
  action: Type.Union([Type.Literal('replay_webhook'), Type.Literal('redrive'), Type.Literal('review')]),
  /** `replay_webhook`: the trigger replayed. */
  trigger: Type.Optional(Type.String()),
  done: Type.Boolean(),
})
export type ReconcileDifference = Type.Static<typeof ReconcileDifference>

export const MAX_REPORTED_DIFFERENCES = 500

export const TenantReconcileReport = Type.Object({
  tenantId: Type.String(),
  dryRun: Type.Boolean(),
  startedAt: IsoTime,
  finishedAt: IsoTime,
  /** Cal.com calls the pass made (listings and look-ups). */
  calcomCalls: Type.Integer({ minimum: 0 }),
  bookingsSeen: Type.Integer({ minimum: 0 }),
  appointmentsCompared: Type.Integer({ minimum: 0 }),
  /** The first MAX_REPORTED_DIFFERENCES of them (a reply must fit a NATS message); all are acted on. */
  differences: Type.Array(ReconcileDifference),
  differencesTotal: Type.Integer({ minimum: 0 }),
  /** Appointments left for the next pass because a change of theirs was still on its way. */
  settling: Type.Array(Type.String()),
  /** The tenant's webhooks after this pass (not judged in a dry run). */
  silence: Type.Optional(
    Type.Union([
      Type.Object({ state: Type.Literal('flowing') }),
      Type.Object({
        state: Type.Literal('silent'),
        reason: Type.Union([Type.Literal('missed_repeatedly'), Type.Literal('no_webhooks')]),
        since: IsoTime,
      }),
    ]),
  ),
  /** Why the pass could not finish (Cal.com or calsync unavailable); the watermark stays. */
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
})
export type TenantReconcileReport = Type.Static<typeof TenantReconcileReport>

export const ReconcileReply = Type.Object({ tenants: Type.Array(TenantReconcileReport) })
export type ReconcileReply = Type.Static<typeof ReconcileReply>
