import { REVIEW_KINDS, type ResyncReply } from '@calsync/contracts'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Authenticate } from '../auth/review-auth.ts'
import type { AppointmentsCommands } from '../commands/appointments-commands.ts'
import { badRequest, ReviewItemConflictError, ReviewItemNotFoundError } from '../errors.ts'
import { ITEM_STATUSES, type RetryState, toReviewItemView } from './review-item.ts'
import type { ReviewItemsStore } from './review-items-store.ts'

const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Enum(ITEM_STATUSES)),
    kind: Type.Optional(Type.Enum(REVIEW_KINDS)),
    cursor: Type.Optional(Type.String({ maxLength: 300 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  },
  { additionalProperties: false },
)
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })
const ResolveBody = Type.Object(
  // At least one visible character: the note is what the next operator reads.
  { note: Type.String({ minLength: 1, maxLength: 2000, pattern: '\\S' }) },
  { additionalProperties: false },
)

type ListQuery = Type.Static<typeof ListQuery>

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url')
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof createdAt === 'string' && typeof id === 'string') return { createdAt, id }
  } catch {}
  throw badRequest('cursor is not one this API returned')
}

/** DESIGN §4.5 review items: a tenant token sees its tenant's items, the operator token all. */
export async function reviewItemsRoutes(
  app: FastifyInstance,
  deps: { items: ReviewItemsStore; commands: AppointmentsCommands; authenticate: Authenticate; clock: () => Date },
) {
  const { items, commands, authenticate, clock } = deps

  async function load(scope: string | null, id: string) {
    const doc = await items.find(scope, id)
    if (!doc) throw new ReviewItemNotFoundError(id)
    return doc
  }

  app.get('/v1/review-items', { schema: { querystring: ListQuery } }, async (request) => {
    const viewer = authenticate(request)
    const query = request.query as ListQuery
    const limit = query.limit ?? 50
    const docs = await items.list(viewer.tenantId, {
      status: query.status,
      kind: query.kind,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
      limit,
    })
    const last = docs.at(-1)
    return {
      items: docs.map((doc) => toReviewItemView(doc, { withDetail: false })),
      nextCursor: docs.length === limit && last ? encodeCursor(last.createdAt, last._id) : null,
    }
  })

  app.get('/v1/review-items/:id', { schema: { params: IdParams } }, async (request) => {
    const viewer = authenticate(request)
    return toReviewItemView(await load(viewer.tenantId, (request.params as { id: string }).id), { withDetail: true })
  })

  // Re-drives the item's appointments; the item stays open until a `sync.succeeded` resolves it.
  app.post('/v1/review-items/:id/retry', { schema: { params: IdParams } }, async (request) => {
    const viewer = authenticate(request)
    const id = (request.params as { id: string }).id
    const item = await load(viewer.tenantId, id)
    if (item.status !== 'open') throw new ReviewItemConflictError(`review item ${id} is already resolved`)
    if (item.appointmentIds.length === 0) {
      throw new ReviewItemConflictError(`nothing to retry: review item ${id} names no appointment`)
    }
    // Marked pending before the command goes out, so a sync result that comes back faster than
    // the reply still finds the retry it settles.
    const pending: RetryState = {
      requestedAt: clock().toISOString(),
      requestedBy: viewer.requestedBy,
      dispatched: null,
      outcome: 'pending',
      outcomeAt: null,
    }
    await items.recordRetry(id, pending)
    let reply: ResyncReply
    try {
      reply = await commands.resync({
        type: 'appointments.resync',
        tenantId: item.tenantId,
        appointmentIds: item.appointmentIds,
        dryRun: false,
        requestedBy: viewer.requestedBy,
      })
    } catch (error) {
      await items.settleRetry(id, pending, item.retry)
      throw error
    }
    const nothing = reply.dispatched === 0
    await items.settleRetry(id, pending, {
      ...pending,
      dispatched: reply.dispatched,
      ...(nothing ? { outcome: 'not_dispatched' as const, outcomeAt: clock().toISOString() } : {}),
    })
    request.log.info({ itemId: id, by: viewer.requestedBy, dispatched: reply.dispatched }, 'review item retried')
    return {
      item: toReviewItemView(await load(viewer.tenantId, id), { withDetail: false }),
      dispatched: reply.dispatched,
    }
  })

  app.post('/v1/review-items/:id/resolve', { schema: { params: IdParams, body: ResolveBody } }, async (request) => {
    const viewer = authenticate(request)
    const id = (request.params as { id: string }).id
    const item = await load(viewer.tenantId, id)
    if (item.status !== 'open') throw new ReviewItemConflictError(`review item ${id} is already resolved`)
    await items.resolve(id, (request.body as Type.Static<typeof ResolveBody>).note, clock())
    request.log.info({ itemId: id, by: viewer.requestedBy }, 'review item resolved by an operator')
    return toReviewItemView(await load(viewer.tenantId, id), { withDetail: false })
  })
}
