import {
  CommandError,
  createSchemaCheck,
  ERROR_CODES,
  formatIssues,
  injectTraceContext,
  type Names,
  ResyncReply,
  type ResyncRequest,
  type SchemaCheck,
  SyncStatsReply,
  type SyncStatsRequest,
} from '@calsync/contracts'
import { withSpan } from '@calsync/service-kit'
import { headers as createHeaders, errors, type Msg, type NatsConnection } from '@nats-io/transport-node'
import { SpanKind, trace } from '@opentelemetry/api'
import { AppointmentsUnavailableError, badRequest } from '../errors.ts'

const tracer = trace.getTracer('review-commands')
const checkResyncReply = createSchemaCheck(ResyncReply)
const checkStatsReply = createSchemaCheck(SyncStatsReply)
const checkCommandError = createSchemaCheck(CommandError)

/**
 * Request/reply client of the commands the appointments service serves: it owns the appointment
 * data, so re-drives and sync counts are asked of it, never read from its collections (DESIGN §1).
 */
export function createAppointmentsCommands(deps: { nc: NatsConnection; names: Names; timeoutMs: number }) {
  async function send<T>(command: string, body: object, check: SchemaCheck<T>): Promise<T> {
    const subject = deps.names.subjects.appointmentsCommand(command)
    const attributes = { 'messaging.system': 'nats', 'messaging.destination.name': subject }
    return withSpan(tracer, `send ${subject}`, { kind: SpanKind.CLIENT, attributes }, async () => {
      const headers = createHeaders()
      injectTraceContext(headers)
      let reply: Msg
      try {
        reply = await deps.nc.request(subject, JSON.stringify(body), { timeout: deps.timeoutMs, headers })
      } catch (error) {
        const noResponders = error instanceof errors.RequestError && error.isNoResponders()
        throw new AppointmentsUnavailableError(
          noResponders
            ? `the appointments service is not running (no responder for ${command})`
            : `the appointments service did not answer ${command} in time`,
          error,
        )
      }
      let decoded: unknown
      try {
        decoded = reply.json()
      } catch {
        decoded = undefined
      }
      const answer = check.check(decoded)
      if (answer.ok) return answer.value
      const failure = checkCommandError.check(decoded)
      if (failure.ok && failure.value.error === ERROR_CODES.badRequest) throw badRequest(failure.value.message)
      if (failure.ok) {
        throw new AppointmentsUnavailableError(`the appointments service could not run ${command}`, failure.value)
      }
      throw new AppointmentsUnavailableError(
        `the appointments service answered ${command} with an unexpected reply: ${formatIssues(answer.issues)}`,
      )
    })
  }

  return {
    resync: (request: ResyncRequest) => send('resync', request, checkResyncReply),
    syncStats: (request: SyncStatsRequest) => send('sync-stats', request, checkStatsReply),
  }
}

export type AppointmentsCommands = ReturnType<typeof createAppointmentsCommands>
