import Type from 'typebox'

const resultFields = {
  tenantId: Type.String({ minLength: 1 }),
  appointmentId: Type.String({ minLength: 1 }),
  /** The appointment version the attempt tried to bring Cal.com to. */
  version: Type.Integer({ minimum: 1 }),
  /** 1 for the first attempt at this version. */
  attempt: Type.Integer({ minimum: 1 }),
  at: Type.String({ format: 'date-time' }),
  /**
   * The appointment event the attempt worked on (`<appointmentId>:v<version>`, or a re-drive
   * `<appointmentId>:v<version>:r<n>`): orders attempts of re-drives of one version.
   */
  eventId: Type.Optional(Type.String({ minLength: 1 })),
}

/**
 * What calcom-sync did on Cal.com to reach the version: the appointments service keeps the
 * booking chain from these facts and recognises the echoes of its own changes by them.
 * `previousBookingUid` is the uid it rescheduled (moved away from) or cancelled.
 */
export const SYNC_ACTIONS = ['created', 'rescheduled', 'cancelled', 'unchanged'] as const
export type SyncAction = (typeof SYNC_ACTIONS)[number]

/**
 * One step of an appointment's Cal.com bookings that a sync made or found, and who made it:
 * `calsync`, or `calcom` (the customer or the host, whose webhook may still be on its way).
 */
export const BookingStep = Type.Object({
  action: Type.Enum(['created', 'rescheduled', 'cancelled']),
  uid: Type.String({ minLength: 1, maxLength: 200 }),
  previousBookingUid: Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()]),
  start: Type.Optional(Type.String({ format: 'date-time' })),
  by: Type.Enum(['calsync', 'calcom']),
  /** The appointment version calsync made the step for; absent: the result's own version. */
  version: Type.Optional(Type.Integer({ minimum: 1 })),
})

/**
 * Every step calsync made for the appointment so far, and what this attempt found, oldest first.
 * Not only this attempt's: the result of an earlier version can be lost for good (its event
 * superseded before the result went out again), and the appointments service recognises the
 * echoes of calsync's bookings only by the steps it was told.
 */
const stepsField = Type.Optional(Type.Array(BookingStep, { maxItems: 50 }))
export type BookingStep = Type.Static<typeof BookingStep>

const failureFields = {
  errorCode: Type.String({ minLength: 1 }),
  errorMessage: Type.String(),
}

/** Published by calcom-sync on `sync.<tenant>.<succeeded|attempt_failed|failed>` for every attempt. */
export const SyncResult = Type.Union([
  Type.Object({
    type: Type.Literal('sync.succeeded'),
    ...resultFields,
    calcomBookingUid: Type.Union([Type.String(), Type.Null()]),
    action: Type.Optional(Type.Enum(SYNC_ACTIONS)),
    previousBookingUid: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
    /** Where the booking now starts on Cal.com (booked versions). */
    start: Type.Optional(Type.String({ format: 'date-time' })),
    steps: stepsField,
    /** When the change was first requested, for change→Cal.com latency. */
    changedAt: Type.Optional(Type.String({ format: 'date-time' })),
  }),
  Type.Object({
    type: Type.Literal('sync.attempt_failed'),
    ...resultFields,
    ...failureFields,
    nextAttemptAt: Type.Optional(Type.String({ format: 'date-time' })),
  }),
  Type.Object({ type: Type.Literal('sync.failed'), ...resultFields, ...failureFields, steps: stepsField }),
])
export type SyncResult = Type.Static<typeof SyncResult>
export type SyncResultType = SyncResult['type']

export function syncResultToken(type: SyncResultType): string {
  return type.slice('sync.'.length)
}
