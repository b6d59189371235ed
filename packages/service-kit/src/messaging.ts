import {
  type ConsumerDefinition,
  extractTraceContext,
  HEADERS,
  injectTraceContext,
  type SchemaCheck,
  type ValidationIssue,
} from '@calsync/contracts'
import type { JetStreamClient, JsMsg, PubAck } from '@nats-io/jetstream'
import { headers as createHeaders } from '@nats-io/transport-node'
import { type Attributes, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import type { Logger } from 'pino'
import {
  type AttemptsRecord,
  afterSettling,
  attemptsKeyOf,
  type HandlingAttempts,
  onRedelivery,
} from './handling-attempts.ts'
import { withSpan } from './spans.ts'

const tracer = trace.getTracer('calsync-messaging')

function messagingAttributes(subject: string, operation: 'send' | 'process'): Attributes {
  // OpenTelemetry messaging semantic conventions.
  return {
    'messaging.system': 'nats',
    'messaging.destination.name': subject,
    'messaging.operation.type': operation,
  }
}

export interface PublishOptions {
  /** Becomes Nats-Msg-Id: JetStream drops a second publish with the same id inside its window. */
  msgId: string
  tenantId?: string
  origin?: string
  timeoutMs?: number
}

/**
 * Publishes a JSON message to JetStream inside a producer span whose context travels in the
 * headers. Resolves only once the stream has acknowledged it (durably stored).
 */
export async function publishMessage(
  js: JetStreamClient,
  subject: string,
  body: { type: string },
  options: PublishOptions,
): Promise<PubAck> {
  const attributes = { ...messagingAttributes(subject, 'send'), 'messaging.message.id': options.msgId }
  return withSpan(tracer, `send ${subject}`, { kind: SpanKind.PRODUCER, attributes }, async (span) => {
    const headers = createHeaders()
    headers.set(HEADERS.messageType, body.type)
    if (options.tenantId) headers.set(HEADERS.tenant, options.tenantId)
    if (options.origin) headers.set(HEADERS.origin, options.origin)
    injectTraceContext(headers)
    const ack = await js.publish(subject, JSON.stringify(body), {
      msgID: options.msgId,
      headers,
      timeout: options.timeoutMs ?? 5000,
    })
    span.setAttribute('messaging.nats.stream_sequence', ack.seq)
    if (ack.duplicate) span.setAttribute('messaging.nats.duplicate', true)
    return ack
  })
}

/** What a handler decides for one message. */
export type Outcome = { kind: 'ack' } | { kind: 'nak'; delayMs: number } | { kind: 'term'; reason: string }

export const ack = (): Outcome => ({ kind: 'ack' })
export const nak = (delayMs: number): Outcome => ({ kind: 'nak', delayMs })
export const term = (reason: string): Outcome => ({ kind: 'term', reason })

export interface ReceivedMessage<T> {
  body: T
  subject: string
  /** 1 on first delivery. */
  deliveryCount: number
  streamSequence: number
  raw: JsMsg
}

export interface InvalidMessage {
  stream: string
  consumer: string
  subject: string
  data: Uint8Array
  issues: ValidationIssue[]
  deliveryCount: number
  streamSequence: number
  /** Set when the message is parked because handling it stopped the process this many times. */
  crashes?: number
}

export interface ConsumerOptions<T> {
  js: JetStreamClient
  definition: ConsumerDefinition
  schema: SchemaCheck<T>
  handle: (message: ReceivedMessage<T>) => Promise<Outcome>
  /**
   * Called for a message that fails its schema, or that `attempts` shows crashed the consumer
   * twice, before it is terminated (parked); default: log only.
   */
  onInvalid?: (message: InvalidMessage) => Promise<void>
  /** Where redeliveries note their handling, so a message that kills the process is parked (handling-attempts.ts). */
  attempts?: HandlingAttempts
  logger: Logger
  /** Messages processed at once. */
  concurrency?: number
  /**
   * Delays before redelivery when the handler throws (or `onInvalid` fails), growing with the
   * delivery count; default {@link DEFAULT_ERROR_BACKOFF}.
   */
  errorBackoff?: ErrorBackoff
  /**
   * Tells JetStream "still working" this often while a message is handled, so a handler that
   * waits (for a rate budget, a lease, a slow call) is not redelivered to another instance after
   * ackWait; a process that dies stops telling, and its messages are redelivered. Off if absent.
   */
  workingEveryMs?: number
}

export interface ErrorBackoff {
  /** The delay after the first delivery failed. */
  initialMs: number
  /** Where the doubling stops. */
  maxMs: number
}

/**
 * 1 s doubling to 60 s: a failing dependency is probed quickly at first, then once a minute, so
 * a consumer's `maxDeliver` can be sized to outlast an outage (see `consumerDefinitions`).
 */
export const DEFAULT_ERROR_BACKOFF: Readonly<ErrorBackoff> = Object.freeze({ initialMs: 1000, maxMs: 60_000 })

/** The redelivery delay after delivery `deliveryCount` (1 on first delivery) failed with an error. */
export function errorBackoffMs(deliveryCount: number, backoff: ErrorBackoff = DEFAULT_ERROR_BACKOFF): number {
  const failed = Number.isNaN(deliveryCount) ? 1 : Math.max(1, Math.floor(deliveryCount))
  // Capped exponent: 2 ** 1023 and beyond is Infinity, and 0 * Infinity would be NaN.
  const exponent = Math.min(failed - 1, 40)
  return Math.max(0, Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent))
}

export interface RunningConsumer {
  /** False once the pull loop has ended: `/readyz` must then say so rather than look healthy. */
  isRunning(): boolean
  /** Stops pulling, waits for messages in flight to settle. */
  stop(): Promise<void>
}

/**
 * Runs a durable pull consumer: each message is schema-checked, handled in a consumer span that
 * continues the publisher's trace, then acked, nak'd with a delay, or terminated.
 */
export async function startConsumer<T>(options: ConsumerOptions<T>): Promise<RunningConsumer> {
  const { definition, logger } = options
  const concurrency = Math.max(1, options.concurrency ?? 1)
  const log = logger.child({ consumer: definition.durable })
  const consumer = await options.js.consumers.get(definition.stream, definition.durable)
  // Messages pulled but not yet handed to a handler get no "working" heartbeat: when handlers
  // may wait long, keep that buffer to one batch.
  const messages = await consumer.consume({ max_messages: options.workingEveryMs ? concurrency : concurrency * 2 })
  const inFlight = new Set<Promise<void>>()
  const suspects = createLane()
  let running = true
  let stopping = false

  const loop = (async () => {
    for await (const msg of messages) {
      const task = processMessage(msg, options, log, suspects).finally(() => inFlight.delete(task))
      inFlight.add(task)
      if (inFlight.size >= concurrency) await Promise.race(inFlight)
    }
  })().finally(() => {
    running = false
    if (!stopping) log.error('consumer loop ended; the service is no longer ready')
  })

  return {
    isRunning: () => running,
    async stop() {
      stopping = true
      await messages.close()
      await loop.catch((error: unknown) => log.error({ err: error }, 'consumer loop failed'))
      await Promise.allSettled([...inFlight])
    },
  }
}

async function processMessage<T>(msg: JsMsg, options: ConsumerOptions<T>, log: Logger, suspects: Lane): Promise<void> {
  const parent = extractTraceContext(msg.headers)
  const attributes = {
    ...messagingAttributes(msg.subject, 'process'),
    'messaging.consumer.group.name': options.definition.durable,
    'messaging.nats.delivery_count': msg.info.deliveryCount,
  }
  await tracer.startActiveSpan(
    `process ${msg.subject}`,
    { kind: SpanKind.CONSUMER, attributes },
    parent,
    async (span) => {
      const heartbeat = options.workingEveryMs ? setInterval(() => msg.working(), options.workingEveryMs) : undefined
      let guard: Guard | undefined
      try {
        guard = await guardRedelivery(msg, options, log, suspects)
        const outcome = guard.kind === 'parked' ? guard.outcome : await decide(msg, options, log)
        span.setAttribute('calsync.outcome', outcome.kind)
        log.trace(
          { subject: msg.subject, seq: msg.seq, deliveryCount: msg.info.deliveryCount, outcome },
          'message settled',
        )
        // A nak is noted before it is sent: noted after, a death in between would count as a crash.
        if (guard.kind === 'handle') await noteSettling(msg, options, log, outcome, guard.crashes)
        if (outcome.kind === 'ack') msg.ack()
        else if (outcome.kind === 'nak') msg.nak(outcome.delayMs)
        else msg.term(outcome.reason)
      } finally {
        if (guard?.kind === 'handle') guard.release()
        clearInterval(heartbeat)
        span.end()
      }
    },
  )
}

type Guard = { kind: 'handle'; crashes: number; release: () => void } | { kind: 'parked'; outcome: Outcome }

/** Entered one at a time, in order; `enter` resolves to the function that lets the next one in. */
type Lane = () => Promise<() => void>

function createLane(): Lane {
  let tail: Promise<void> = Promise.resolve()
  return async () => {
    let release: () => void = () => undefined
    const turn = new Promise<void>((resolve) => {
      release = resolve
    })
    const before = tail
    tail = before.then(() => turn)
    await before
    return release
  }
}

const free = () => undefined

/**
 * Before a redelivery is handled: parks it when the deliveries before it died twice, else notes
 * that this one started. The notes fail open: without them a message is handled, never parked.
 */
async function guardRedelivery<T>(
  msg: JsMsg,
  options: ConsumerOptions<T>,
  log: Logger,
  suspects: Lane,
): Promise<Guard> {
  const { attempts, definition } = options
  const deliveryCount = msg.info.deliveryCount
  if (!attempts || deliveryCount < 2) return { kind: 'handle', crashes: 0, release: free }
  let noted: AttemptsRecord | undefined
  try {
    noted = await attempts.get(keyOf(msg, definition.durable))
  } catch (error) {
    log.warn({ err: error, seq: msg.seq }, 'could not read the handling notes of a redelivery; handling it')
    return { kind: 'handle', crashes: 0, release: free }
  }
  const decision = onRedelivery(deliveryCount, noted)
  if (decision.kind === 'handle') {
    // Every message in flight dies with the process, not only the one that killed it: suspects
    // run one at a time (in this process), so a second death is charged to the one that ran.
    const release = decision.record.crashes > 0 ? await waitForTurn(msg, definition.ackWaitMs, suspects) : free
    await attempts
      .put(keyOf(msg, definition.durable), decision.record)
      .catch((error: unknown) => log.warn({ err: error, seq: msg.seq }, 'could not note a redelivery'))
    return { kind: 'handle', crashes: decision.record.crashes, release }
  }
  log.error(
    { subject: msg.subject, seq: msg.seq, deliveryCount, crashes: decision.crashes },
    'message stopped the consumer twice while handled; parked for review',
  )
  try {
    await options.onInvalid?.({
      stream: msg.info.stream,
      consumer: definition.durable,
      subject: msg.subject,
      data: msg.data,
      issues: [],
      deliveryCount,
      streamSequence: msg.seq,
      crashes: decision.crashes,
    })
  } catch (error) {
    log.error({ err: error }, 'could not report a crashing message; will retry')
    return { kind: 'parked', outcome: nak(errorBackoffMs(deliveryCount, options.errorBackoff)) }
  }
  await attempts.forget(keyOf(msg, definition.durable)).catch(() => undefined)
  return { kind: 'parked', outcome: term('parked: handling it stopped the consumer twice') }
}

const keyOf = (msg: JsMsg, durable: string) => attemptsKeyOf(durable, msg.seq, msg.timestampNanos)

/** Waiting in line is no reason for JetStream to hand the message to another instance. */
async function waitForTurn(msg: JsMsg, ackWaitMs: number, suspects: Lane): Promise<() => void> {
  const beat = setInterval(() => msg.working(), Math.max(100, Math.floor(ackWaitMs / 3)))
  try {
    return await suspects()
  } finally {
    clearInterval(beat)
  }
}

async function noteSettling<T>(
  msg: JsMsg,
  options: ConsumerOptions<T>,
  log: Logger,
  outcome: Outcome,
  crashes: number,
): Promise<void> {
  const { attempts, definition } = options
  if (!attempts) return
  const after = afterSettling(outcome.kind, crashes)
  // A first delivery that settles leaves no note at all: the common path costs nothing.
  if (!after && msg.info.deliveryCount < 2) return
  try {
    if (after) await attempts.put(keyOf(msg, definition.durable), after)
    else await attempts.forget(keyOf(msg, definition.durable))
  } catch (error) {
    log.warn({ err: error, seq: msg.seq }, 'could not note how a delivery settled')
  }
}

async function decide<T>(msg: JsMsg, options: ConsumerOptions<T>, log: Logger): Promise<Outcome> {
  let decoded: unknown
  try {
    decoded = msg.json()
  } catch {
    decoded = undefined
  }
  const result =
    decoded === undefined
      ? { ok: false as const, issues: [{ path: '', message: 'body is not JSON' }] }
      : options.schema.check(decoded)
  if (!result.ok) {
    const invalid: InvalidMessage = {
      stream: msg.info.stream,
      consumer: options.definition.durable,
      subject: msg.subject,
      data: msg.data,
      issues: result.issues,
      deliveryCount: msg.info.deliveryCount,
      streamSequence: msg.seq,
    }
    log.warn({ subject: msg.subject, seq: msg.seq, issues: result.issues.slice(0, 5) }, 'invalid message')
    try {
      await options.onInvalid?.(invalid)
    } catch (error) {
      log.error({ err: error }, 'could not report an invalid message; will retry')
      return nak(errorBackoffMs(msg.info.deliveryCount, options.errorBackoff))
    }
    return term('schema validation failed')
  }
  try {
    return await options.handle({
      body: result.value,
      subject: msg.subject,
      deliveryCount: msg.info.deliveryCount,
      streamSequence: msg.seq,
      raw: msg,
    })
  } catch (error) {
    trace.getActiveSpan()?.recordException(error as Error)
    trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR })
    const delayMs = errorBackoffMs(msg.info.deliveryCount, options.errorBackoff)
    log.error(
      { err: error, subject: msg.subject, seq: msg.seq, deliveryCount: msg.info.deliveryCount, delayMs },
      'message handling failed; will retry',
    )
    return nak(delayMs)
  }
}
