import Type from 'typebox'

/**
 * Cal.com triggers calsync acts on; anything else is accepted and ignored (or routed).
 * BOOKING_REQUESTED is a booking (or, with `rescheduleUid`, a reschedule) that waits for the
 * host's confirmation and holds its slot meanwhile; BOOKING_REJECTED ends it (calcom/README.md §8–§9).
 */
export const BOOKING_TRIGGERS = [
  'BOOKING_CREATED',
  'BOOKING_CANCELLED',
  'BOOKING_RESCHEDULED',
  'BOOKING_REQUESTED',
  'BOOKING_REJECTED',
] as const
export type BookingTrigger = (typeof BOOKING_TRIGGERS)[number]

/**
 * Cal.com stores what a booker types without limits. Attendee and notes limits are the
 * AppointmentSnapshot's, so a webhook the gateway accepts never becomes a snapshot that fails its
 * schema downstream; the others bound what one signed delivery can make calsync store. No e-mail
 * format: Cal.com does not validate addresses, and the appointments side normalises them.
 */
const LIMITS = {
  uidLength: 255,
  attendeeNameLength: 200,
  attendeeEmailLength: 320,
  attendeeTimeZoneLength: 64,
  attendeePhoneNumberLength: 32,
  additionalNotesLength: 2000,
  metadataProperties: 60,
  attendees: 100,
} as const

const CalcomAttendee = Type.Object({
  name: Type.String({ maxLength: LIMITS.attendeeNameLength }),
  email: Type.String({ maxLength: LIMITS.attendeeEmailLength }),
  timeZone: Type.String({ maxLength: LIMITS.attendeeTimeZoneLength }),
  phoneNumber: Type.Optional(Type.Union([Type.String({ maxLength: LIMITS.attendeePhoneNumberLength }), Type.Null()])),
})

/**
 * The booking fields of a Cal.com webhook payload calsync relies on (calcom/README.md §4–5);
 * Cal.com sends many more, which are kept but not required.
 */
export const CalcomBookingPayload = Type.Object(
  {
    uid: Type.String({ minLength: 1, maxLength: LIMITS.uidLength }),
    bookingId: Type.Optional(Type.Integer()),
    eventTypeId: Type.Integer(),
    startTime: Type.String({ format: 'date-time' }),
    endTime: Type.String({ format: 'date-time' }),
    attendees: Type.Array(CalcomAttendee, { minItems: 1, maxItems: LIMITS.attendees }),
    metadata: Type.Optional(
      Type.Union([
        Type.Record(Type.String(), Type.Unknown(), { maxProperties: LIMITS.metadataProperties }),
        Type.Null(),
      ]),
    ),
    rescheduleUid: Type.Optional(Type.Union([Type.String({ maxLength: LIMITS.uidLength }), Type.Null()])),
    cancellationReason: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    /** On BOOKING_CANCELLED: the host asked the attendee to pick a new time (the slot is free meanwhile). */
    requestReschedule: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    additionalNotes: Type.Optional(Type.Union([Type.String({ maxLength: LIMITS.additionalNotesLength }), Type.Null()])),
    status: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
)
export type CalcomBookingPayload = Type.Static<typeof CalcomBookingPayload>

/** A Cal.com webhook body for one of the booking triggers. */
export const CalcomBookingWebhook = Type.Object(
  {
    triggerEvent: Type.Enum(BOOKING_TRIGGERS),
    createdAt: Type.String({ format: 'date-time' }),
    payload: CalcomBookingPayload,
  },
  { additionalProperties: true },
)
export type CalcomBookingWebhook = Type.Static<typeof CalcomBookingWebhook>

/**
 * BOOKING_NO_SHOW_UPDATED: a host marked attendees (not) shown. A payload of its own (calcom/README.md
 * §4): the booking by uid, no times, no metadata, no event type.
 */
export const NO_SHOW_TRIGGER = 'BOOKING_NO_SHOW_UPDATED'
export const CalcomNoShowWebhook = Type.Object(
  {
    triggerEvent: Type.Literal(NO_SHOW_TRIGGER),
    createdAt: Type.String({ format: 'date-time' }),
    payload: Type.Object(
      {
        bookingUid: Type.String({ minLength: 1, maxLength: LIMITS.uidLength }),
        bookingId: Type.Optional(Type.Integer()),
        attendees: Type.Optional(
          Type.Array(
            Type.Object(
              { email: Type.String({ maxLength: LIMITS.attendeeEmailLength }), noShow: Type.Boolean() },
              { additionalProperties: true },
            ),
            { maxItems: LIMITS.attendees },
          ),
        ),
        message: Type.Optional(Type.Union([Type.String({ maxLength: LIMITS.additionalNotesLength }), Type.Null()])),
      },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: true },
)
export type CalcomNoShowWebhook = Type.Static<typeof CalcomNoShowWebhook>

/** A verified no-show update, on `calcom.webhook.<tenant>.BOOKING_NO_SHOW_UPDATED`. */
export const VerifiedNoShow = Type.Object({
  type: Type.Literal('calcom.no_show.verified'),
  tenantId: Type.String({ minLength: 1 }),
  deliveryId: Type.String({ minLength: 1 }),
  receivedAt: Type.String({ format: 'date-time' }),
  webhook: CalcomNoShowWebhook,
})
export type VerifiedNoShow = Type.Static<typeof VerifiedNoShow>

/**
 * What the gateway publishes on `calcom.webhook.<tenant>.<trigger>` once a delivery is verified and
 * its event type is known to belong to the tenant (unowned event types go to review instead).
 */
export const VerifiedWebhook = Type.Object({
  type: Type.Literal('calcom.webhook.verified'),
  tenantId: Type.String({ minLength: 1 }),
  /** Content-derived id, also the Nats-Msg-Id: an exact re-delivery has the same one. */
  deliveryId: Type.String({ minLength: 1 }),
  receivedAt: Type.String({ format: 'date-time' }),
  webhook: CalcomBookingWebhook,
  /**
   * `reconciler`: not a delivery but a change the reconciler found on Cal.com that no webhook
   * told (its body rebuilt from the booking); applied exactly like a delivery.
   */
  via: Type.Optional(Type.Union([Type.Literal('webhook'), Type.Literal('reconciler')])),
})
export type VerifiedWebhook = Type.Static<typeof VerifiedWebhook>

/** Everything on the webhook stream: booking webhooks and no-show updates. */
export const WebhookStreamMessage = Type.Union([VerifiedWebhook, VerifiedNoShow])
export type WebhookStreamMessage = Type.Static<typeof WebhookStreamMessage>
