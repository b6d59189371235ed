import { ApiText } from '@calsync/service-kit'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Authenticate } from '../auth/review-auth.ts'
import { notFound } from '../errors.ts'
import { reviewApiSchema } from '../review-api-responses.ts'
import type { ReconcileCommands } from './reconcile-commands.ts'

const ReconcileBody = Type.Object(
  {
    /** The operator's choice of tenant (all when absent); a tenant's token reconciles only its own. */
    tenantId: Type.Optional(ApiText({ minLength: 1, maxLength: 64 })),
    dryRun: Type.Boolean(),
  },
  { additionalProperties: false },
)
type ReconcileBody = Type.Static<typeof ReconcileBody>

/**
 * `POST /v1/reconcile`: one reconcile pass against Cal.com now. `dryRun` answers the plan (every
 * difference and the action it would get) and changes nothing; otherwise what was done.
 */
export async function reconcileRoutes(
  app: FastifyInstance,
  deps: { reconcile: ReconcileCommands; authenticate: Authenticate },
) {
  app.post(
    '/v1/reconcile',
    { schema: reviewApiSchema('Reconcile with Cal.com now', 'reconcile', { body: ReconcileBody }) },
    async (request) => {
      const viewer = deps.authenticate(request)
      const body = request.body as ReconcileBody
      // Another tenant's id is answered as if it did not exist (I6).
      if (viewer.tenantId !== null && body.tenantId !== undefined && body.tenantId !== viewer.tenantId) {
        throw notFound(`no tenant ${body.tenantId}`)
      }
      const tenantId = viewer.tenantId ?? body.tenantId ?? null
      const reply = await deps.reconcile.reconcile({
        type: 'calcom_sync.reconcile',
        tenantId,
        dryRun: body.dryRun,
        requestedBy: viewer.requestedBy,
      })
      request.log.info(
        {
          tenantId,
          dryRun: body.dryRun,
          differences: reply.tenants.reduce((sum, tenant) => sum + tenant.differences.length, 0),
        },
        'reconcile requested',
      )
      return reply
    },
  )
}
