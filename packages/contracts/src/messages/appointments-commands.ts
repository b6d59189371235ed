import Type from 'typebox'

/** Sync statuses a re-sync may pick up. */
export const RESYNC_STATUSES = ['pending', 'failed', 'conflict'] as const

/**
 * Request/reply on `calsync.appointments.resync`: the review service asks the appointments
 * service (which owns the data) to re-drive the sync of matching appointments.
 * `tenantId: null` is for the operator (all tenants).
 */
export const ResyncRequest = Type.Object(
  {
    type: Type.Literal('appointments.resync'),
    tenantId: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    /** Exactly these appointments (a review item's); otherwise matched by status and age. */
    appointmentIds: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 1000 })),
    statuses: Type.Optional(Type.Array(Type.Enum(RESYNC_STATUSES), { minItems: 1 })),
    olderThanSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    dryRun: Type.Boolean(),
    /** Who asked, for the log and the re-drive event. */
    requestedBy: Type.String({ minLength: 1 }),
    /** The re-drive's event asks calcom-sync to check Cal.com even where its record says synced. */
    verify: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type ResyncRequest = Type.Static<typeof ResyncRequest>

export const ResyncReply = Type.Object({
  matched: Type.Integer({ minimum: 0 }),
  appointmentIds: Type.Array(Type.String()),
  dispatched: Type.Integer({ minimum: 0 }),
})
export type ResyncReply = Type.Static<typeof ResyncReply>

/** Request/reply on `calsync.appointments.sync-stats`: sync status totals of appointments changed since `since`. */
export const SyncStatsRequest = Type.Object(
  {
    type: Type.Literal('appointments.sync_stats'),
    tenantId: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    since: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
)
export type SyncStatsRequest = Type.Static<typeof SyncStatsRequest>

export const SyncStatsReply = Type.Object({
  total: Type.Integer({ minimum: 0 }),
  pending: Type.Integer({ minimum: 0 }),
  synced: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0 }),
  conflict: Type.Integer({ minimum: 0 }),
  skipped: Type.Integer({ minimum: 0 }),
})
export type SyncStatsReply = Type.Static<typeof SyncStatsReply>

/** One line of an appointment's story (GET /v1/appointments/{id}/history). */
export const HistoryEntry = Type.Object({
  at: Type.String(),
  what: Type.String(),
  who: Type.String(),
  version: Type.Union([Type.Integer(), Type.Null()]),
  bookingUid: Type.Union([Type.String(), Type.Null()]),
  detail: Type.String(),
  traceId: Type.Union([Type.String(), Type.Null()]),
})
export type HistoryEntry = Type.Static<typeof HistoryEntry>

/** Request/reply on `calsync.appointments.history`: an appointment's story, for the review dashboard. */
export const HistoryRequest = Type.Object(
  {
    type: Type.Literal('appointments.history'),
    tenantId: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    appointmentId: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
)
export type HistoryRequest = Type.Static<typeof HistoryRequest>

export const HistoryReply = Type.Object({ appointmentId: Type.String(), entries: Type.Array(HistoryEntry) })
export type HistoryReply = Type.Static<typeof HistoryReply>

/** Every command reply: the answer, or an error with a stable code. */
export const CommandError = Type.Object({ error: Type.String(), message: Type.String() })
export type CommandError = Type.Static<typeof CommandError>
