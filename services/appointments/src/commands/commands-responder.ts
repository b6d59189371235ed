import {
  createSchemaCheck,
  ERROR_CODES,
  extractTraceContext,
  formatIssues,
  type Names,
  ResyncRequest,
  SyncStatsRequest,
} from '@calsync/contracts'
import type { Logger } from '@calsync/service-kit'
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node'
import { context, SpanKind, trace } from '@opentelemetry/api'
import type { Resync } from './resync.ts'

const tracer = trace.getTracer('appointments-commands')
const checkResync = createSchemaCheck(ResyncRequest)
const checkStats = createSchemaCheck(SyncStatsRequest)

/**
 * Answers the commands other services send the owner of the appointment data (request/reply on
 * core NATS, one queue group so each request is answered once however many instances run).
 */
export function startCommandsResponder(deps: { nc: NatsConnection; names: Names; resync: Resync; logger: Logger }) {
  const log = deps.logger.child({ component: 'commands' })

  function serve<T>(
    command: string,
    check: {
      check(
        value: unknown,
      ):
        | { ok: true; value: T }
        | { ok: false; issues: never[] }
        | { ok: false; issues: { path: string; message: string }[] }
    },
    run: (request: T) => Promise<unknown>,
  ): Subscription {
    const subject = deps.names.subjects.appointmentsCommand(command)
    return deps.nc.subscribe(subject, {
      queue: 'appointments',
      callback: (error, msg: Msg) => {
        if (error) {
          log.error({ err: error, subject }, 'command subscription failed')
          return
        }
        const parent = extractTraceContext(msg.headers)
        void context.with(parent, () =>
          tracer.startActiveSpan(
            `process ${subject}`,
            {
              kind: SpanKind.SERVER,
              attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject },
            },
            async (span) => {
              try {
                let body: unknown
                try {
                  body = msg.json()
                } catch {
                  body = undefined
                }
                const checked = check.check(body)
                if (!checked.ok) {
                  msg.respond(JSON.stringify({ error: ERROR_CODES.badRequest, message: formatIssues(checked.issues) }))
                  return
                }
                msg.respond(JSON.stringify(await run(checked.value)))
              } catch (failure) {
                log.error({ err: failure, subject }, 'command failed')
                msg.respond(JSON.stringify({ error: ERROR_CODES.internal, message: 'the command failed' }))
              } finally {
                span.end()
              }
            },
          ),
        )
      },
    })
  }

  const subscriptions = [
    serve('resync', checkResync, (request) => {
      log.info(
        { tenantId: request.tenantId, dryRun: request.dryRun, requestedBy: request.requestedBy },
        'resync requested',
      )
      return deps.resync.resync(request)
    }),
    serve('sync-stats', checkStats, (request) => deps.resync.syncStats(request)),
  ]
  return {
    async stop() {
      for (const subscription of subscriptions) await subscription.drain()
    },
  }
}
