import { RESYNC_STATUSES } from '@calsync/contracts'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Authenticate } from '../auth/review-auth.ts'
import type { AppointmentsCommands } from '../commands/appointments-commands.ts'
import { reviewApiSchema } from '../review-api-responses.ts'

const MAX_OLDER_THAN_SECONDS = 10 * 366 * 24 * 3600

const ResyncBody = Type.Object(
  {
    // Bounded so the cut-off stays a real date; no sync still waits after ten years.
    olderThanSeconds: Type.Integer({ minimum: 0, maximum: MAX_OLDER_THAN_SECONDS }),
    statuses: Type.Optional(
      Type.Array(Type.Enum(RESYNC_STATUSES), { minItems: 1, maxItems: RESYNC_STATUSES.length, uniqueItems: true }),
    ),
    dryRun: Type.Boolean(),
  },
  { additionalProperties: false },
)

type ResyncBody = Type.Static<typeof ResyncBody>

/**
 * `POST /v1/resync` (DESIGN §4.5): bulk re-drive of syncs still pending/failed after an age, in the
 * viewer's tenant (all tenants for the operator). The appointments service does the matching.
 */
export async function resyncRoutes(
  app: FastifyInstance,
  deps: { commands: AppointmentsCommands; authenticate: Authenticate },
) {
  app.post(
    '/v1/resync',
    { schema: reviewApiSchema('Re-drive syncs still pending or failed', 'resync', { body: ResyncBody }) },
    async (request) => {
      const viewer = deps.authenticate(request)
      const body = request.body as ResyncBody
      const reply = await deps.commands.resync({
        type: 'appointments.resync',
        tenantId: viewer.tenantId,
        olderThanSeconds: body.olderThanSeconds,
        ...(body.statuses ? { statuses: body.statuses } : {}),
        dryRun: body.dryRun,
        requestedBy: viewer.requestedBy,
      })
      request.log.info(
        { tenantId: viewer.tenantId, dryRun: body.dryRun, matched: reply.matched, dispatched: reply.dispatched },
        'resync requested',
      )
      return { matched: reply.matched, appointmentIds: reply.appointmentIds, dispatched: reply.dispatched }
    },
  )
}
