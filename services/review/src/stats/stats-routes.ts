import { ApiText } from '@calsync/service-kit'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Authenticate } from '../auth/review-auth.ts'
import type { AppointmentsCommands } from '../commands/appointments-commands.ts'
import { badRequest } from '../errors.ts'
import { reviewApiSchema } from '../review-api-responses.ts'
import { parseWindow, WINDOW_PATTERN } from './stats-window.ts'
import type { SyncResultsStore } from './sync-results-store.ts'

/**
 * The window's form is in the document (schemathesis found clients told only "a string" sent
 * mostly refused ones); parseWindow also keeps it within (0, 30d].
 */
const StatsQuery = Type.Object(
  {
    window: Type.Optional(
      ApiText({
        maxLength: 7,
        pattern: WINDOW_PATTERN,
        description:
          'How far back to count: minutes, hours or days (`15m`, `24h`, `7d`), above 0 and at most `30d`. Default `24h`.',
      }),
    ),
  },
  { additionalProperties: false },
)

/**
 * `GET /v1/stats/sync` (DESIGN §4.5). Counts are the appointments service's (it owns the sync
 * state); latency and failure codes come from the sync results this service recorded.
 */
export async function statsRoutes(
  app: FastifyInstance,
  deps: { results: SyncResultsStore; commands: AppointmentsCommands; authenticate: Authenticate; clock: () => Date },
) {
  app.get(
    '/v1/stats/sync',
    { schema: reviewApiSchema('Sync statistics', 'stats', { querystring: StatsQuery }) },
    async (request) => {
      const viewer = deps.authenticate(request)
      const text = (request.query as Type.Static<typeof StatsQuery>).window ?? '24h'
      const windowMs = parseWindow(text)
      if (windowMs === undefined)
        throw badRequest(`window "${text}" is not a duration like 15m, 24h or 7d (at most 30d)`)
      const since = new Date(deps.clock().getTime() - windowMs).toISOString()
      const [counts, latencyMs, failuresByCode] = await Promise.all([
        deps.commands.syncStats({ type: 'appointments.sync_stats', tenantId: viewer.tenantId, since }),
        deps.results.latencyPercentiles(viewer.tenantId, since),
        deps.results.failuresByCode(viewer.tenantId, since),
      ])
      const settled = counts.synced + counts.failed
      return {
        total: counts.total,
        synced: counts.synced,
        pending: counts.pending,
        failed: counts.failed,
        conflict: counts.conflict,
        successRate: settled === 0 ? null : counts.synced / settled,
        latencyMs,
        failuresByCode,
      }
    },
  )
}
