import {
  createSchemaCheck,
  HistoryReply,
  type HistoryRequest,
  type Names,
  ResyncReply,
  type ResyncRequest,
  type SchemaCheck,
  SyncStatsReply,
  type SyncStatsRequest,
} from '@calsync/contracts'
import { type CommandFailures, sendCommand } from '@calsync/service-kit'
import type { NatsConnection } from '@nats-io/transport-node'
import { AppointmentsUnavailableError, badRequest, notFound } from '../errors.ts'

const checkResyncReply = createSchemaCheck(ResyncReply)
const checkStatsReply = createSchemaCheck(SyncStatsReply)
const checkHistoryReply = createSchemaCheck(HistoryReply)

const failures: CommandFailures = {
  unavailable: (message, cause) => new AppointmentsUnavailableError(message, cause),
  badRequest,
  notFound,
}

/**
 * Request/reply client of the commands the appointments service serves: it owns the appointment
 * data, so re-drives and sync counts are asked of it, never read from its collections (DESIGN §1).
 */
export function createAppointmentsCommands(deps: { nc: NatsConnection; names: Names; timeoutMs: number }) {
  const send = <T>(command: string, body: object, check: SchemaCheck<T>) =>
    sendCommand({
      nc: deps.nc,
      subject: deps.names.subjects.appointmentsCommand(command),
      service: 'appointments',
      command,
      body,
      check,
      timeoutMs: deps.timeoutMs,
      failures,
    })

  return {
    resync: (request: ResyncRequest) => send('resync', request, checkResyncReply),
    syncStats: (request: SyncStatsRequest) => send('sync-stats', request, checkStatsReply),
    history: (request: HistoryRequest) => send('history', request, checkHistoryReply),
  }
}

export type AppointmentsCommands = ReturnType<typeof createAppointmentsCommands>
