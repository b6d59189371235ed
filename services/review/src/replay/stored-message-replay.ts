import { HEADERS, type Names, streamDefinitions } from '@calsync/contracts'
import { tenantOfSubject, withSpan } from '@calsync/service-kit'
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type StoredMsg,
} from '@nats-io/jetstream'
import { headers as createHeaders, type MsgHdrs } from '@nats-io/transport-node'
import { SpanKind, trace } from '@opentelemetry/api'
import { REPLAY_OF_HEADER } from '../constants.ts'
import { ReviewItemConflictError, StreamUnavailableError } from '../errors.ts'

const tracer = trace.getTracer('review-replay')

/** A message kept in one of calsync's streams, as an item's detail names it. */
export interface StoredMessageRef {
  stream: string
  streamSequence: number
  /** What the reporter saw; null when the message was already gone when it reported. */
  subject: string | null
}

export interface Replayed {
  stream: string
  streamSequence: number
  subject: string
  msgId: string
  /** JetStream had this replay already (a repeated press, or a publish whose ack was lost). */
  duplicate: boolean
}

/** The stored message an item's detail names (`stream`, `streamSequence`, `subject`), if any. */
export function storedMessageOf(detail: Record<string, unknown>): StoredMessageRef | undefined {
  const { stream, streamSequence, subject } = detail
  if (typeof stream !== 'string' || stream.length === 0) return undefined
  if (typeof streamSequence !== 'number' || !Number.isSafeInteger(streamSequence) || streamSequence < 1)
    return undefined
  return { stream, streamSequence, subject: typeof subject === 'string' ? subject : null }
}

/** `attempt` counts the replays of one item, so a repeated press dedupes instead of publishing twice. */
export function replayMsgId(ref: StoredMessageRef, attempt: number): string {
  return `replay:${ref.stream}:${ref.streamSequence}:${attempt}`
}

/**
 * What a replay carries over: the trace (the replay continues the original's trace) and the
 * calsync headers (type, tenant, origin). `Nats-*` headers are dropped: the old Nats-Msg-Id would
 * make JetStream discard the replay as a duplicate of the original inside the window.
 */
export function replayHeaders(original: MsgHdrs | undefined, ref: StoredMessageRef): MsgHdrs {
  const copied = createHeaders()
  const keep = (key: string) => {
    const lower = key.toLowerCase()
    if (lower === REPLAY_OF_HEADER.toLowerCase()) return false
    return lower === HEADERS.traceparent || lower === HEADERS.tracestate || lower.startsWith('calsync-')
  }
  for (const key of original?.keys() ?? []) {
    if (!keep(key)) continue
    for (const value of original?.values(key) ?? []) copied.append(key, value)
  }
  copied.set(REPLAY_OF_HEADER, `${ref.stream}:${ref.streamSequence}`)
  return copied
}

/**
 * Republishes a stored message of one of calsync's streams to its original subject, under a new
 * Nats-Msg-Id, so its consumer handles it again as if it had just arrived.
 */
export function createStoredMessageReplay(deps: {
  js: JetStreamClient
  jsm: JetStreamManager
  names: Names
  timeoutMs?: number
}) {
  const ownStreams = new Set(Object.values(streamDefinitions(deps.names)).map((stream) => stream.name))
  const gone = (ref: StoredMessageRef, why: string) =>
    new ReviewItemConflictError(
      `message ${ref.streamSequence} of ${ref.stream} is no longer kept by the stream (${why}); nothing to replay — resolve the item with a note`,
    )

  async function read(ref: StoredMessageRef): Promise<StoredMsg | null> {
    try {
      return await deps.jsm.streams.getMessage(ref.stream, { seq: ref.streamSequence })
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return null
      throw new StreamUnavailableError(`could not read message ${ref.streamSequence} of ${ref.stream}`, error)
    }
  }

  return {
    async replay(ref: StoredMessageRef, options: { tenantId: string; attempt: number }): Promise<Replayed> {
      if (!ownStreams.has(ref.stream)) {
        throw new ReviewItemConflictError(`nothing to replay: ${ref.stream} is not one of calsync's streams`)
      }
      const stored = await read(ref)
      if (!stored) throw gone(ref, 'deleted or aged out')
      // Sequences restart when a stream is recreated: the number may now hold another message.
      if (ref.subject !== null && stored.subject !== ref.subject) throw gone(ref, 'the sequence holds another message')
      if ((tenantOfSubject(deps.names, stored.subject) ?? 'unknown') !== options.tenantId) {
        throw new ReviewItemConflictError(
          `nothing to replay: message ${ref.streamSequence} of ${ref.stream} is not of the item's tenant`,
        )
      }
      const msgId = replayMsgId(ref, options.attempt)
      const attributes = {
        'messaging.system': 'nats',
        'messaging.destination.name': stored.subject,
        'messaging.message.id': msgId,
      }
      return withSpan(tracer, `replay ${stored.subject}`, { kind: SpanKind.PRODUCER, attributes }, async () => {
        try {
          const ack = await deps.js.publish(stored.subject, stored.data, {
            msgID: msgId,
            headers: replayHeaders(stored.header, ref),
            // The subject must still be captured by the same stream, or the replay is not what it was.
            expect: { streamName: ref.stream },
            timeout: deps.timeoutMs ?? 5000,
          })
          return {
            stream: ack.stream,
            streamSequence: ack.seq,
            subject: stored.subject,
            msgId,
            duplicate: ack.duplicate,
          }
        } catch (error) {
          throw new StreamUnavailableError(`could not republish message ${ref.streamSequence} of ${ref.stream}`, error)
        }
      })
    },
  }
}

export type StoredMessageReplay = ReturnType<typeof createStoredMessageReplay>
