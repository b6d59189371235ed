import { REVIEW_KINDS, type ResyncReply, type ReviewKind } from '@calsync/contracts'
import { ApiText, isStorableText, VISIBLE_TEXT_PATTERN } from '@calsync/service-kit'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Authenticate, Viewer } from '../auth/review-auth.ts'
import type { AppointmentsCommands } from '../commands/appointments-commands.ts'
import { REPLAY_OF_HEADER } from '../constants.ts'
import { badRequest, ReviewItemConflictError, ReviewItemNotFoundError } from '../errors.ts'
import { type StoredMessageReplay, storedMessageOf } from '../replay/stored-message-replay.ts'
import { reviewApiSchema } from '../review-api-responses.ts'
import { ITEM_STATUSES, type RetryState, type ReviewItemDoc, toReviewItemView } from './review-item.ts'
import type { ReviewItemsStore } from './review-items-store.ts'

/**
 * Kinds whose retry republishes the stored message the item names; every other kind re-drives
 * the sync of its appointments.
 */
export const REPLAYED_KINDS: ReadonlySet<ReviewKind> = new Set(['poison_message', 'unapplied_webhook'])

const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Enum(ITEM_STATUSES)),
    kind: Type.Optional(Type.Enum(REVIEW_KINDS)),
    cursor: Type.Optional(ApiText({ maxLength: 300 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  },
  { additionalProperties: false },
)
const IdParams = Type.Object({ id: ApiText({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false })
const ResolveBody = Type.Object(
  // At least one visible character: the note is what the next operator reads.
  { note: Type.String({ minLength: 1, maxLength: 2000, pattern: VISIBLE_TEXT_PATTERN }) },
  { additionalProperties: false },
)

type ListQuery = Type.Static<typeof ListQuery>

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url')
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof createdAt === 'string' && typeof id === 'string' && isStorableText(createdAt) && isStorableText(id)) {
      return { createdAt, id }
    }
  } catch {}
  throw badRequest('cursor is not one this API returned')
}

/** DESIGN §4.5 review items: a tenant token sees its tenant's items, the operator token all. */
export async function reviewItemsRoutes(
  app: FastifyInstance,
  deps: {
    items: ReviewItemsStore
    commands: AppointmentsCommands
    replay: StoredMessageReplay
    authenticate: Authenticate
    clock: () => Date
  },
) {
  const { items, commands, replay, authenticate, clock } = deps

  async function load(scope: string | null, id: string) {
    const doc = await items.find(scope, id)
    if (!doc) throw new ReviewItemNotFoundError(id)
    return doc
  }

  app.get(
    '/v1/review-items',
    { schema: reviewApiSchema('List review items', 'listItems', { querystring: ListQuery }) },
    async (request) => {
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
    },
  )

  /**
   * The story of the item's appointments, each as the appointments service tells it, with the
   * item's own opening and resolution among its lines: what the dashboard shows when an item is opened.
   */
  app.get(
    '/v1/review-items/:id/history',
    { schema: reviewApiSchema('The story of the item’s appointments', 'itemHistory', { params: IdParams }) },
    async (request) => {
      const viewer = authenticate(request)
      const item = await load(viewer.tenantId, (request.params as { id: string }).id)
      const own = [
        {
          at: item.createdAt,
          what: 'review_opened',
          who: 'review',
          version: null,
          bookingUid: null,
          detail: `${item.kind}: ${item.errorMessage}`,
          traceId: null,
        },
        ...(item.resolvedAt
          ? [
              {
                at: item.resolvedAt,
                what: 'review_resolved',
                who: 'review',
                version: null,
                bookingUid: null,
                detail: item.note ?? 'resolved',
                traceId: null,
              },
            ]
          : []),
      ]
      const appointments = []
      for (const appointmentId of item.appointmentIds.slice(0, 10)) {
        const story = await commands
          .history({ type: 'appointments.history', tenantId: item.tenantId, appointmentId })
          .catch((error: unknown) => {
            if ((error as { statusCode?: number }).statusCode === 404) return { appointmentId, entries: [] }
            throw error
          })
        const entries = [...story.entries, ...own].sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
        appointments.push({ appointmentId, entries })
      }
      return { itemId: item._id, entries: item.appointmentIds.length === 0 ? own : undefined, appointments }
    },
  )

  app.get(
    '/v1/review-items/:id',
    { schema: reviewApiSchema('Read a review item', 'readItem', { params: IdParams }) },
    async (request) => {
      const viewer = authenticate(request)
      return toReviewItemView(await load(viewer.tenantId, (request.params as { id: string }).id), { withDetail: true })
    },
  )

  // Re-drives the item's appointments; the item stays open until a `sync.succeeded` resolves it.
  async function retryByResync(item: ReviewItemDoc, viewer: Viewer, log: FastifyBaseLogger) {
    const id = item._id
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
    log.info({ itemId: id, by: viewer.requestedBy, dispatched: reply.dispatched }, 'review item retried')
    return {
      item: toReviewItemView(await load(viewer.tenantId, id), { withDetail: false }),
      dispatched: reply.dispatched,
    }
  }

  // The message itself was the trouble (or what it depended on): its consumer gets it once more.
  async function retryByReplay(item: ReviewItemDoc, viewer: Viewer, log: FastifyBaseLogger) {
    const id = item._id
    const ref = storedMessageOf(item.detail)
    if (!ref) throw new ReviewItemConflictError(`nothing to replay: review item ${id} names no stored message`)
    const requestedAt = clock().toISOString()
    const attempt = (item.replays ?? 0) + 1
    const replayed = await replay.replay(ref, { tenantId: item.tenantId, attempt })
    const note = `${replayed.duplicate ? 'already replayed' : 'replayed'} as message ${replayed.streamSequence} of ${replayed.stream} (${REPLAY_OF_HEADER}: ${ref.stream}:${ref.streamSequence})`
    const retry: RetryState = {
      requestedAt,
      requestedBy: viewer.requestedBy,
      dispatched: 1,
      outcome: 'succeeded',
      outcomeAt: clock().toISOString(),
    }
    await items.resolveByReplay(id, { note, retry, replays: attempt }, clock())
    log.info({ itemId: id, by: viewer.requestedBy, replay: replayed }, 'review item retried by replaying its message')
    return {
      item: toReviewItemView(await load(viewer.tenantId, id), { withDetail: false }),
      dispatched: 1,
      replay: replayed,
    }
  }

  app.post(
    '/v1/review-items/:id/retry',
    { schema: reviewApiSchema('Retry what the item is about', 'retry', { params: IdParams }) },
    async (request) => {
      const viewer = authenticate(request)
      const id = (request.params as { id: string }).id
      const item = await load(viewer.tenantId, id)
      if (item.status !== 'open') throw new ReviewItemConflictError(`review item ${id} is already resolved`)
      return REPLAYED_KINDS.has(item.kind)
        ? retryByReplay(item, viewer, request.log)
        : retryByResync(item, viewer, request.log)
    },
  )

  app.post(
    '/v1/review-items/:id/resolve',
    { schema: reviewApiSchema('Resolve the item with a note', 'resolve', { params: IdParams, body: ResolveBody }) },
    async (request) => {
      const viewer = authenticate(request)
      const id = (request.params as { id: string }).id
      const item = await load(viewer.tenantId, id)
      if (item.status !== 'open') throw new ReviewItemConflictError(`review item ${id} is already resolved`)
      await items.resolve(id, (request.body as Type.Static<typeof ResolveBody>).note, clock())
      request.log.info({ itemId: id, by: viewer.requestedBy }, 'review item resolved by an operator')
      return toReviewItemView(await load(viewer.tenantId, id), { withDetail: false })
    },
  )
}
