import { createSchemaCheck, type Names, ReconcileReply, type ReconcileRequest } from '@calsync/contracts'
import { sendCommand } from '@calsync/service-kit'
import type { NatsConnection } from '@nats-io/transport-node'
import { badRequest, DependencyUnavailableError, notFound } from '../errors.ts'

const checkReply = createSchemaCheck(ReconcileReply)

/** Client of calcom-sync's reconcile command: it holds the Cal.com keys and budget, so passes run there. */
export function createReconcileCommands(deps: { nc: NatsConnection; names: Names; timeoutMs: number }) {
  return {
    reconcile: (request: ReconcileRequest) =>
      sendCommand({
        nc: deps.nc,
        subject: deps.names.subjects.calcomSyncCommand('reconcile'),
        service: 'calcom-sync',
        command: 'reconcile',
        body: request,
        check: checkReply,
        timeoutMs: deps.timeoutMs,
        failures: {
          unavailable: (message, cause) => new DependencyUnavailableError(message, cause),
          badRequest,
          notFound,
        },
      }),
  }
}

export type ReconcileCommands = ReturnType<typeof createReconcileCommands>
