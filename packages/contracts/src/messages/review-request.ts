import Type from 'typebox'

/**
 * `unapplied_webhook`: a verified Cal.com webhook calsync accepted (2xx) but cannot apply safely
 * (its booking is unknown, its times are implausible, it waited too long for what it depends on);
 * its detail names the stored message (`stream`, `streamSequence`, `subject`) so a retry replays it.
 * `drift`: the reconciler found calsync and Cal.com apart in a way it cannot decide safely (two open
 * bookings for one appointment, …); its detail names both sides.
 * `webhook_silence`: a tenant's Cal.com webhooks stopped coming (one item per silence; it resolves
 * itself when they flow again).
 */
export const REVIEW_KINDS = [
  'sync_failed',
  'double_booking',
  'unmapped_event_type',
  'poison_message',
  'unapplied_webhook',
  'drift',
  'webhook_silence',
] as const
export const ReviewKind = Type.Enum(REVIEW_KINDS)
export type ReviewKind = (typeof REVIEW_KINDS)[number]

/**
 * Something an operator must look at, published on `review.<tenant>.<kind>`. `causeId` is the
 * de-duplication key: the same cause delivered twice is one review item.
 */
export const ReviewRequest = Type.Object({
  type: Type.Literal('review.requested'),
  kind: ReviewKind,
  causeId: Type.String({ minLength: 1 }),
  tenantId: Type.String({ minLength: 1 }),
  appointmentIds: Type.Array(Type.String()),
  errorCode: Type.String(),
  errorMessage: Type.String(),
  attempts: Type.Integer({ minimum: 0 }),
  at: Type.String({ format: 'date-time' }),
  /** Kind-specific facts (e.g. the Cal.com booking uid, the raw subject and sequence). */
  detail: Type.Record(Type.String(), Type.Unknown()),
  /** The cause ended by itself at `at` (its item resolves; `errorMessage` says how). */
  resolved: Type.Optional(Type.Boolean()),
})
export type ReviewRequest = Type.Static<typeof ReviewRequest>
