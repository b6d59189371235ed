import type { ConsumerDefinition, StreamDefinition } from '@calsync/contracts'
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream'
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node'
import type { Logger } from 'pino'

export interface NatsOptions {
  url: string
  name: string
  logger: Logger
}

/** Connects with endless reconnects; status changes are logged. Close with `nc.drain()`. */
export async function connectNats(options: NatsOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: options.url.split(',').map((server) => server.trim()),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    pingInterval: 10_000,
    // An Error with a stack trace is otherwise built for every request and publish ahead of a
    // failure that rarely comes: a tenth of the gateway's CPU per webhook (issue 14).
    noAsyncTraces: true,
  })
  const log = options.logger.child({ component: 'nats' })
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
        log.warn(
          { status: status.type, server: 'server' in status ? status.server : undefined },
          'nats connection status',
        )
      }
    }
  })()
  return nc
}

/** Creates the stream or brings its config up to date (idempotent, safe with many instances). */
export async function ensureStream(jsm: JetStreamManager, definition: StreamDefinition): Promise<void> {
  const config = {
    name: definition.name,
    subjects: definition.subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: nanos(definition.duplicateWindowMs),
    max_age: nanos(definition.maxAgeMs),
  }
  try {
    await jsm.streams.info(definition.name)
    await jsm.streams.update(definition.name, config)
  } catch (error) {
    if (!isNotFound(error)) throw error
    try {
      await jsm.streams.add(config)
    } catch (addError) {
      // Another instance created it in between: 10058 is "stream name already in use".
      if (!(addError instanceof JetStreamApiError && addError.code === 10058)) throw addError
    }
  }
}

/** Creates or updates a durable pull consumer with explicit acks. */
export async function ensureConsumer(jsm: JetStreamManager, definition: ConsumerDefinition): Promise<void> {
  const config = {
    durable_name: definition.durable,
    filter_subject: definition.filterSubject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(definition.ackWaitMs),
    max_deliver: definition.maxDeliver,
    max_ack_pending: definition.maxAckPending,
  }
  try {
    await jsm.consumers.info(definition.stream, definition.durable)
    await jsm.consumers.update(definition.stream, definition.durable, config)
  } catch (error) {
    if (!isNotFound(error)) throw error
    await jsm.consumers.add(definition.stream, config)
  }
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamNotFound || error.code === JetStreamApiCodes.ConsumerNotFound)
  )
}
