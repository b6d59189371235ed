import { HistoryEntry, REVIEW_KINDS, ReconcileReply, ResyncReply } from '@calsync/contracts'
import { BEARER_SECURITY, errorResponse, jsonBodyErrors } from '@calsync/service-kit'
import type { FastifySchema } from 'fastify'
import Type from 'typebox'
import { ITEM_STATUSES, RETRY_OUTCOMES } from './items/review-item.ts'

/**
 * The answers of the review API as the OpenAPI document states them (DESIGN §4.5). They mirror
 * the handlers' return values; they only document (the kit serializes what the handler
 * returns), and the conformance test holds real answers against them.
 */

const Time = Type.String({ description: 'ISO-8601 UTC.' })
const NullableString = Type.Union([Type.String(), Type.Null()])
const NullableTime = Type.Union([Time, Type.Null()])

const RetryView = Type.Object({
  requestedAt: Time,
  requestedBy: Type.String(),
  dispatched: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  outcome: Type.Enum(RETRY_OUTCOMES),
  outcomeAt: NullableTime,
})

const itemFields = {
  id: Type.String(),
  tenantId: Type.String(),
  kind: Type.Enum(REVIEW_KINDS),
  appointmentIds: Type.Array(Type.String()),
  errorCode: Type.String(),
  errorMessage: Type.String(),
  attempts: Type.Integer({ minimum: 0 }),
  status: Type.Enum(ITEM_STATUSES),
  createdAt: Time,
  resolvedAt: NullableTime,
  note: NullableString,
  lastSeenAt: Time,
  retry: Type.Union([RetryView, Type.Null()]),
}
const ReviewItem = Type.Object(itemFields, { description: 'Something only an operator can settle.' })
const ReviewItemWithDetail = Type.Object(
  // Optional: the view leaves it out when the stored item has none.
  {
    ...itemFields,
    detail: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'What the reporter knew.' })),
  },
  { description: 'The item with what its reporter knew.' },
)

const Replayed = Type.Object({
  stream: Type.String(),
  streamSequence: Type.Integer({ minimum: 1 }),
  subject: Type.String(),
  msgId: Type.String(),
  duplicate: Type.Boolean({ description: 'JetStream had this replay already.' }),
})

const ItemHistory = Type.Object(
  {
    itemId: Type.String(),
    entries: Type.Optional(Type.Array(HistoryEntry, { description: 'Only for an item that names no appointment.' })),
    appointments: Type.Array(Type.Object({ appointmentId: Type.String(), entries: Type.Array(HistoryEntry) })),
  },
  { description: 'The story of each appointment of the item, the item’s own lines among them.' },
)

const Percentile = Type.Union([Type.Number({ minimum: 0 }), Type.Null()])

const unauthorized = errorResponse(
  'No bearer token, or one that is neither a tenant’s nor the operator’s (`unauthorized`).',
)
const notFound = errorResponse('No review item the token may see has this id (`not_found`).')
const badId = errorResponse('The id is out of bounds (`bad_request`).')
const alreadyResolved = errorResponse('The item is resolved already, or there is nothing to retry (`conflict`).')
const unavailable = (what: string) =>
  errorResponse(`${what} is unavailable for a moment (\`unavailable\`); retry shortly.`)

const RESPONSES = {
  listItems: {
    200: Type.Object(
      { items: Type.Array(ReviewItem), nextCursor: NullableString },
      { description: 'One page, newest first; `nextCursor` asks for the next.' },
    ),
    400: errorResponse('A query parameter is out of bounds, or the cursor is not one this API returned.'),
    401: unauthorized,
    503: unavailable('The database'),
  },
  readItem: {
    200: ReviewItemWithDetail,
    400: badId,
    401: unauthorized,
    404: notFound,
    503: unavailable('The database'),
  },
  itemHistory: {
    200: ItemHistory,
    400: badId,
    401: unauthorized,
    404: notFound,
    503: unavailable('The database or the appointments service'),
  },
  retry: {
    200: Type.Object(
      {
        item: ReviewItem,
        dispatched: Type.Integer({ minimum: 0 }),
        replay: Type.Optional(Replayed),
      },
      { description: 'The re-drive went out (or the stored message was replayed).' },
    ),
    400: badId,
    401: unauthorized,
    404: notFound,
    409: alreadyResolved,
    503: unavailable('The database, the appointments service or the stream'),
  },
  resolve: {
    200: ReviewItem,
    ...jsonBodyErrors(),
    401: unauthorized,
    404: notFound,
    409: alreadyResolved,
    503: unavailable('The database'),
  },
  stats: {
    200: Type.Object(
      {
        total: Type.Integer({ minimum: 0 }),
        synced: Type.Integer({ minimum: 0 }),
        pending: Type.Integer({ minimum: 0 }),
        failed: Type.Integer({ minimum: 0 }),
        conflict: Type.Integer({ minimum: 0 }),
        successRate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
          description: 'synced / (synced + failed); null when none settled.',
        }),
        latencyMs: Type.Object({ p50: Percentile, p95: Percentile, p99: Percentile }),
        failuresByCode: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
      },
      { description: 'Sync outcomes of appointments changed within the window.' },
    ),
    400: errorResponse('The window is not a duration like 15m, 24h or 7d (at most 30d).'),
    401: unauthorized,
    503: unavailable('The database or the appointments service'),
  },
  resync: {
    200: { ...ResyncReply, description: 'What matched and what was re-driven.' },
    ...jsonBodyErrors(),
    401: unauthorized,
    503: unavailable('The appointments service'),
  },
  reconcile: {
    200: { ...ReconcileReply, description: 'Per tenant: every difference and its action, planned or done.' },
    ...jsonBodyErrors(),
    401: unauthorized,
    404: errorResponse('A tenant token named another tenant (`not_found`).'),
    503: unavailable('calcom-sync'),
  },
} satisfies Record<string, FastifySchema['response']>

/** A review API route's schema as the OpenAPI document shows it: tenant or operator token. */
export function reviewApiSchema(
  summary: string,
  answers: keyof typeof RESPONSES,
  input: FastifySchema = {},
): FastifySchema {
  return { summary, tags: ['review'], security: BEARER_SECURITY, ...input, response: RESPONSES[answers] }
}
