import type { Names } from '@calsync/contracts'
import type { Logger } from '@calsync/service-kit'
import type { JetStreamManager } from '@nats-io/jetstream'
import type { Msg, NatsConnection } from '@nats-io/transport-node'
import type { ReviewItemsStore } from '../items/review-items-store.ts'
import { type MaxDeliveriesAdvisory, poisonRequestOfAdvisory, type StoredMessage } from './poison-requests.ts'

export const MAX_DELIVERIES_SUBJECT = '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>'

/**
 * Streams of this deployment: with a namespace, those named `<namespace>_…`; without one, the
 * `CALSYNC_…` streams. Other users of the same NATS account are none of our business.
 */
export function isOwnStream(names: Names, stream: string): boolean {
  return stream.startsWith(names.namespace ? `${names.namespace}_` : 'CALSYNC_')
}

function parseAdvisory(msg: Msg): MaxDeliveriesAdvisory | undefined {
  let body: Record<string, unknown>
  try {
    body = msg.json<Record<string, unknown>>()
  } catch {
    return undefined
  }
  const { stream, consumer, stream_seq, deliveries } = body
  if (typeof stream !== 'string' || typeof consumer !== 'string') return undefined
  if (!Number.isInteger(stream_seq) || !Number.isInteger(deliveries)) return undefined
  return { stream, consumer, stream_seq: stream_seq as number, deliveries: deliveries as number }
}

/**
 * The poison-message safety net (DESIGN §5): JetStream announces each message a consumer gave up
 * on in a MAX_DELIVERIES advisory, on core NATS. Each becomes a `poison_message` item. Advisories
 * are not stored, so one sent while no instance listens is missed: the consumers' own
 * dead-lettering stays the primary path. One queue group: each advisory is handled once.
 */
export function startMaxDeliveriesListener(deps: {
  nc: NatsConnection
  jsm: JetStreamManager
  names: Names
  items: ReviewItemsStore
  logger: Logger
  clock: () => Date
}) {
  const log = deps.logger.child({ component: 'max-deliveries' })
  const inFlight = new Set<Promise<void>>()

  async function fetchStored(advisory: MaxDeliveriesAdvisory): Promise<StoredMessage | undefined> {
    try {
      const stored = await deps.jsm.streams.getMessage(advisory.stream, { seq: advisory.stream_seq })
      return stored ? { subject: stored.subject, data: stored.data } : undefined
    } catch (error) {
      log.debug({ err: error, stream: advisory.stream, seq: advisory.stream_seq }, 'given-up message not readable')
      return undefined
    }
  }

  async function handle(msg: Msg): Promise<void> {
    const advisory = parseAdvisory(msg)
    if (!advisory) {
      log.warn({ subject: msg.subject }, 'unreadable MAX_DELIVERIES advisory')
      return
    }
    if (!isOwnStream(deps.names, advisory.stream)) return
    const stored = await fetchStored(advisory)
    const request = poisonRequestOfAdvisory(deps.names, advisory, stored, deps.clock())
    const outcome = await deps.items.record(request, deps.clock())
    log.warn(
      { stream: advisory.stream, consumer: advisory.consumer, seq: advisory.stream_seq, outcome },
      'message given up after max deliveries',
    )
  }

  const queue = `${deps.names.namespace ? `${deps.names.namespace}_` : ''}review-advisories`
  const subscription = deps.nc.subscribe(MAX_DELIVERIES_SUBJECT, {
    queue,
    callback: (error, msg) => {
      if (error) {
        log.error({ err: error }, 'advisory subscription failed')
        return
      }
      const task = handle(msg)
        .catch((failure: unknown) => log.error({ err: failure }, 'could not record a MAX_DELIVERIES advisory'))
        .finally(() => inFlight.delete(task))
      inFlight.add(task)
    },
  })

  return {
    /** Resolves once the server has the subscription, so no advisory sent after it is missed. */
    ready: () => deps.nc.flush(),
    async stop() {
      await subscription.drain()
      await Promise.allSettled([...inFlight])
    },
  }
}
