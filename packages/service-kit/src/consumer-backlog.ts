import type { ConsumerDefinition } from '@calsync/contracts'
import type { ConsumerInfo, JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type { BatchObservableCallback, Meter } from '@opentelemetry/api'
import type { Logger } from 'pino'

export interface ConsumerBacklogOptions {
  meter: Meter
  js: JetStreamClient
  /** The durable consumers this service runs. */
  consumers: ReadonlyArray<Pick<ConsumerDefinition, 'stream' | 'durable'>>
  logger: Logger
  /** Per consumer look-up, so one slow answer cannot hold the whole scrape. */
  lookupTimeoutMs?: number
}

export interface ConsumerBacklog {
  /** Stops observing: no more consumer look-ups on scrapes. */
  stop(): void
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms}ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * `calsync_consumer_pending` and `calsync_consumer_ack_pending` per durable consumer, read from
 * the consumer info when `/metrics` is scraped. A consumer whose info cannot be read reports NaN
 * in that scrape, which answers anyway: leaving the series out would not do, as the OTel JS SDK
 * keeps exporting the last value of an attribute set a callback no longer observes.
 */
export function observeConsumerBacklog(options: ConsumerBacklogOptions): ConsumerBacklog {
  const { meter, logger } = options
  const timeoutMs = options.lookupTimeoutMs ?? 2_000
  const pending = meter.createObservableGauge('calsync_consumer_pending', {
    description: 'Messages in the stream not yet delivered to the durable consumer',
  })
  const ackPending = meter.createObservableGauge('calsync_consumer_ack_pending', {
    description: 'Messages delivered to the durable consumer and not yet acknowledged (nak delays included)',
  })
  let manager: Promise<JetStreamManager> | undefined

  async function lookUp(stream: string, durable: string): Promise<ConsumerInfo | undefined> {
    try {
      manager ??= options.js.jetstreamManager(false)
      return await withTimeout(
        manager.then((jsm) => jsm.consumers.info(stream, durable)),
        timeoutMs,
      )
    } catch (error) {
      logger.debug({ err: error, stream, consumer: durable }, 'consumer info unavailable for metrics')
      // A failed manager (closed connection) is retried on the next scrape.
      manager = undefined
      return undefined
    }
  }

  const callback: BatchObservableCallback = async (result) => {
    const infos = await Promise.all(
      options.consumers.map(async ({ stream, durable }) => ({ stream, durable, info: await lookUp(stream, durable) })),
    )
    for (const { stream, durable, info } of infos) {
      const attributes = { stream, consumer: durable }
      result.observe(pending, info ? info.num_pending : Number.NaN, attributes)
      result.observe(ackPending, info ? info.num_ack_pending : Number.NaN, attributes)
    }
  }
  meter.addBatchObservableCallback(callback, [pending, ackPending])
  return {
    stop: () => meter.removeBatchObservableCallback(callback, [pending, ackPending]),
  }
}
