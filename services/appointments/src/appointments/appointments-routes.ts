import { BEARER_SECURITY, isStorableText, requireInstant } from '@calsync/service-kit'
import type { FastifyInstance, FastifySchema } from 'fastify'
import type { Authenticate } from '../auth/bearer-auth.ts'
import { AppointmentNotFoundError, badRequest } from '../errors.ts'
import type { AppointmentHistory } from '../history/appointment-history.ts'
import { appointmentIdForKey } from './appointment.ts'
import { toAppointmentView, toSyncStatusView } from './appointment-view.ts'
import { CancelBody, CreateBody, CreateHeaders, IdParams, ListQuery, RescheduleBody } from './appointments-input.ts'
import { RESPONSES } from './appointments-responses.ts'
import type { AppointmentsService } from './appointments-service.ts'
import { type AppointmentsStore, snapshotOfDoc } from './appointments-store.ts'
import { fingerprintOf, type Idempotency } from './idempotency.ts'
import { isTimeZone } from './time-zone.ts'

/** A route's schema as the OpenAPI document shows it: every route takes a tenant's bearer token. */
function docs(summary: string, answers: keyof typeof RESPONSES, input: FastifySchema): FastifySchema {
  return { summary, tags: ['appointments'], security: BEARER_SECURITY, ...input, response: RESPONSES[answers] }
}

function encodeCursor(start: string, id: string): string {
  return Buffer.from(JSON.stringify([start, id])).toString('base64url')
}

function decodeCursor(cursor: string): { start: string; id: string } {
  try {
    const [start, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof start === 'string' && typeof id === 'string' && isStorableText(start) && isStorableText(id)) {
      return { start, id }
    }
  } catch {}
  throw badRequest('cursor is not one this API returned')
}

/** DESIGN §4.4: every route is scoped to the tenant of the bearer token, whose origin tags changes. */
export async function appointmentsRoutes(
  app: FastifyInstance,
  deps: {
    service: AppointmentsService
    store: AppointmentsStore
    idempotency: Idempotency
    authenticate: Authenticate
    history: AppointmentHistory
  },
) {
  const { service, store, idempotency, authenticate } = deps
  // A missing or bad token is a 401 before the body is validated (no 400 hints to strangers).
  app.addHook('onRequest', async (request) => {
    authenticate(request)
  })

  async function view(tenantId: string, id: string) {
    const doc = await store.current(tenantId, id)
    if (!doc) throw new AppointmentNotFoundError(id)
    return { snapshot: snapshotOfDoc(doc), doc, sync: await store.syncState(tenantId, id) }
  }

  app.post(
    '/v1/appointments',
    { schema: docs('Book an appointment', 'create', { body: CreateBody, headers: CreateHeaders }) },
    async (request, reply) => {
      const identity = authenticate(request)
      const body = request.body as CreateBody
      if (!isTimeZone(body.attendee.timeZone)) {
        throw badRequest('attendee.timeZone must be an IANA time zone such as Europe/Berlin')
      }
      const key = request.headers['idempotency-key']
      const execute = async () => {
        // Under a key the id is derived from it: a retry after a lost answer finds the same appointment.
        const options = typeof key === 'string' ? { id: appointmentIdForKey(identity.tenantId, key) } : {}
        const snapshot = await service.create(identity.tenantId, body, identity.initiator, options)
        return {
          statusCode: 201,
          body: toAppointmentView(snapshot, await store.syncState(identity.tenantId, snapshot.id)),
        }
      }
      const response =
        typeof key === 'string'
          ? await idempotency.run(identity.tenantId, key, fingerprintOf(body), execute)
          : await execute()
      return reply.code(response.statusCode).send(response.body)
    },
  )

  app.get(
    '/v1/appointments',
    { schema: docs('List appointments', 'list', { querystring: ListQuery }) },
    async (request) => {
      const identity = authenticate(request)
      const query = request.query as ListQuery
      const limit = query.limit ?? 50
      const docs = await store.list(identity.tenantId, {
        // The schema's date-time lets leap seconds through, where new Date() is Invalid Date.
        from: query.from === undefined ? undefined : requireInstant(query.from, 'from').toISOString(),
        to: query.to === undefined ? undefined : requireInstant(query.to, 'to').toISOString(),
        status: query.status,
        after: query.cursor ? decodeCursor(query.cursor) : undefined,
        limit,
      })
      const states = await store.syncStatesOf(
        identity.tenantId,
        docs.map((doc) => doc._id),
      )
      const last = docs.at(-1)
      return {
        items: docs.map((doc) => toAppointmentView(snapshotOfDoc(doc), states.get(doc._id))),
        nextCursor: docs.length === limit && last ? encodeCursor(last.start, last._id) : null,
      }
    },
  )

  app.get(
    '/v1/appointments/:id',
    { schema: docs('Read an appointment', 'read', { params: IdParams }) },
    async (request) => {
      const identity = authenticate(request)
      const { snapshot, sync } = await view(identity.tenantId, (request.params as { id: string }).id)
      return toAppointmentView(snapshot, sync)
    },
  )

  app.get(
    '/v1/appointments/:id/sync-status',
    { schema: docs('Where its sync with Cal.com stands', 'syncStatus', { params: IdParams }) },
    async (request) => {
      const identity = authenticate(request)
      const { snapshot, doc, sync } = await view(identity.tenantId, (request.params as { id: string }).id)
      return { ...toSyncStatusView(snapshot, sync), initiatedBy: doc.initiatedBy }
    },
  )

  app.get(
    '/v1/appointments/:id/history',
    { schema: docs('Its changes and sync steps', 'history', { params: IdParams }) },
    async (request) => {
      const identity = authenticate(request)
      const id = (request.params as { id: string }).id
      const entries = await deps.history.read(identity.tenantId, id)
      if (!entries) throw new AppointmentNotFoundError(id)
      return { appointmentId: id, entries }
    },
  )

  app.post(
    '/v1/appointments/:id/cancel',
    { schema: docs('Cancel an appointment', 'cancel', { params: IdParams, body: CancelBody }) },
    async (request) => {
      const identity = authenticate(request)
      const id = (request.params as { id: string }).id
      const snapshot = await service.cancel(identity.tenantId, id, identity.initiator)
      return toAppointmentView(snapshot, await store.syncState(identity.tenantId, id))
    },
  )

  app.post(
    '/v1/appointments/:id/reschedule',
    { schema: docs('Move an appointment', 'reschedule', { params: IdParams, body: RescheduleBody }) },
    async (request) => {
      const identity = authenticate(request)
      const id = (request.params as { id: string }).id
      const { start } = request.body as RescheduleBody
      const snapshot = await service.reschedule(identity.tenantId, id, start, identity.initiator)
      return toAppointmentView(snapshot, await store.syncState(identity.tenantId, id))
    },
  )
}
