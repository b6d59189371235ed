import { APPOINTMENT_STATUSES } from '@calsync/contracts'
import { ApiText } from '@calsync/service-kit'
import Type from 'typebox'

/**
 * What the appointments API accepts: closed objects and bounded values only. An extra key would
 * otherwise travel on into the stored snapshot as a field name (`a.b`, `$x` and nested arrays
 * made the database refuse the write with a 500), and so would a NUL in a string. The message
 * schema `Attendee` stays open, so events already in the stream still validate; the route takes
 * this closed, NUL-free copy of it (same fields, same bounds).
 */
export const AttendeeInput = Type.Object(
  {
    name: ApiText({ minLength: 1, maxLength: 200 }),
    email: Type.String({ format: 'email', maxLength: 320 }),
    timeZone: ApiText({ minLength: 1, maxLength: 64 }),
    phoneNumber: Type.Optional(ApiText({ maxLength: 32 })),
  },
  { additionalProperties: false },
)

/** RFC 3339 with offset and fraction fits well within this; longer is no time. */
const DateTimeInput = Type.String({ format: 'date-time', maxLength: 64 })

export const CreateBody = Type.Object(
  {
    eventTypeId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    start: DateTimeInput,
    attendee: AttendeeInput,
    notes: Type.Optional(ApiText({ maxLength: 2000 })),
  },
  { additionalProperties: false },
)
export type CreateBody = Type.Static<typeof CreateBody>

/** `Idempotency-Key`: printable ASCII without spaces, as idempotency.ts checks it. */
export const CreateHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'The same key with the same body answers what the first request answered.',
    }),
  ),
})

export const CancelBody = Type.Object(
  { reason: Type.Optional(ApiText({ maxLength: 500 })) },
  { additionalProperties: false },
)
export const RescheduleBody = Type.Object({ start: DateTimeInput }, { additionalProperties: false })
export type RescheduleBody = Type.Static<typeof RescheduleBody>

export const IdParams = Type.Object({ id: ApiText({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false })

export const ListQuery = Type.Object(
  {
    from: Type.Optional(DateTimeInput),
    to: Type.Optional(DateTimeInput),
    status: Type.Optional(Type.Enum(APPOINTMENT_STATUSES)),
    cursor: Type.Optional(ApiText({ maxLength: 300 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  },
  { additionalProperties: false },
)
export type ListQuery = Type.Static<typeof ListQuery>
