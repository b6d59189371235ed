import { consumerDefinitions, createSchemaCheck, streamDefinitions } from '@calsync/contracts'
import {
  ack,
  ensureConsumer,
  ensureStream,
  nak,
  publishMessage,
  type RunningConsumer,
  startConsumer,
  startTelemetry,
  type Telemetry,
} from '@calsync/service-kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { SpanKind, trace } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace'
import Type from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectTestNats, eventually, quietLogger, uniqueNames } from '../../../test/support/infra.ts'

const Ping = Type.Object({ type: Type.Literal('test.ping'), n: Type.Integer() })

describe('JetStream messaging against a real server', () => {
  const exporter = new InMemorySpanExporter()
  let telemetry: Telemetry
  let nc: NatsConnection

  beforeAll(async () => {
    telemetry = startTelemetry({
      serviceName: 'messaging-test',
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    })
    nc = await connectTestNats()
  })
  afterAll(async () => {
    await nc.drain()
    await telemetry.shutdown()
  })

  async function setUp() {
    const names = uniqueNames()
    const jsm = await jetstreamManager(nc)
    const stream = streamDefinitions(names).review
    const consumer = consumerDefinitions(names).review
    await ensureStream(jsm, stream)
    await ensureConsumer(jsm, consumer)
    // Idempotent: a second instance starting up changes nothing and does not fail.
    await ensureStream(jsm, stream)
    await ensureConsumer(jsm, consumer)
    return { names, jsm, js: jetstream(nc), consumer }
  }

  it('carries the trace from publisher to durable consumer and acks explicitly', async () => {
    const { names, jsm, js, consumer } = await setUp()
    const seen: Array<{ n: number; traceId: string | undefined }> = []
    const running: RunningConsumer = await startConsumer({
      js,
      definition: consumer,
      schema: createSchemaCheck(Ping),
      logger: quietLogger(),
      handle: async (message) => {
        seen.push({ n: message.body.n, traceId: trace.getActiveSpan()?.spanContext().traceId })
        return ack()
      },
    })
    const tracer = trace.getTracer('test')
    const publisherTraceId = await tracer.startActiveSpan('POST /test', async (span) => {
      const pubAck = await publishMessage(
        js,
        names.subjects.review('acme', 'test'),
        { type: 'test.ping', n: 1 } as never,
        {
          msgId: 'ping-1',
        },
      )
      expect(pubAck.duplicate).toBe(false)
      span.end()
      return span.spanContext().traceId
    })

    const delivered = await eventually('the consumer to see the message', async () => seen[0])
    expect(delivered.n).toBe(1)
    expect(delivered.traceId).toBe(publisherTraceId)

    const consumerSpan = await eventually('a finished consumer span', async () =>
      exporter
        .getFinishedSpans()
        .find((span) => span.kind === SpanKind.CONSUMER && span.spanContext().traceId === publisherTraceId),
    )
    expect(consumerSpan.attributes['messaging.system']).toBe('nats')
    expect(consumerSpan.attributes['messaging.destination.name']).toBe(names.subjects.review('acme', 'test'))

    // Acked: nothing pending and nothing waiting for an ack.
    const info = await eventually('the ack to reach the server', async () => {
      const current = await jsm.consumers.info(consumer.stream, consumer.durable)
      return current.num_ack_pending === 0 && current.num_pending === 0 ? current : undefined
    })
    expect(info.delivered.consumer_seq).toBe(1)

    // The same Nats-Msg-Id again is recognised as a duplicate and not delivered twice.
    const again = await publishMessage(
      js,
      names.subjects.review('acme', 'test'),
      { type: 'test.ping', n: 1 } as never,
      {
        msgId: 'ping-1',
      },
    )
    expect(again.duplicate).toBe(true)
    await running.stop()
    expect(seen).toHaveLength(1)
  })

  it('redelivers a nak with a higher delivery count', async () => {
    const { names, js, consumer } = await setUp()
    const deliveries: number[] = []
    const running = await startConsumer({
      js,
      definition: consumer,
      schema: createSchemaCheck(Ping),
      logger: quietLogger(),
      handle: async (message) => {
        deliveries.push(message.deliveryCount)
        return message.deliveryCount < 2 ? nak(1000) : ack()
      },
    })
    await publishMessage(js, names.subjects.review('acme', 'test'), { type: 'test.ping', n: 2 } as never, {
      msgId: 'ping-2',
    })
    await eventually('a second delivery', async () => (deliveries.length >= 2 ? true : undefined))
    expect(running.isRunning()).toBe(true)
    await running.stop()
    expect(running.isRunning()).toBe(false)
    expect(deliveries.slice(0, 2)).toEqual([1, 2])
  })

  it('redelivers after a handler throws, with the configured error backoff', async () => {
    const { names, js, jsm, consumer } = await setUp()
    const deliveries: number[] = []
    const running = await startConsumer({
      js,
      definition: consumer,
      schema: createSchemaCheck(Ping),
      logger: quietLogger(),
      // Short delays keep the test quick; the default (1 s doubling to 60 s) is unit-tested.
      errorBackoff: { initialMs: 10, maxMs: 20 },
      handle: async (message) => {
        deliveries.push(message.deliveryCount)
        if (message.deliveryCount < 3) throw new Error('the database is down')
        return ack()
      },
    })
    await publishMessage(js, names.subjects.review('acme', 'test'), { type: 'test.ping', n: 4 } as never, {
      msgId: 'ping-4',
    })
    await eventually('the third delivery acked', async () => {
      const info = await jsm.consumers.info(consumer.stream, consumer.durable)
      return deliveries.length >= 3 && info.num_ack_pending === 0 ? true : undefined
    })
    await running.stop()
    expect(deliveries).toEqual([1, 2, 3])
  })

  it('terminates a schema-invalid message, reports it, and keeps consuming', async () => {
    const { names, js, consumer } = await setUp()
    const valid: number[] = []
    const invalid: string[] = []
    const running = await startConsumer({
      js,
      definition: consumer,
      schema: createSchemaCheck(Ping),
      logger: quietLogger(),
      onInvalid: async (message) => {
        invalid.push(message.subject)
      },
      handle: async (message) => {
        valid.push(message.body.n)
        return ack()
      },
    })
    const subject = names.subjects.review('acme', 'test')
    await publishMessage(js, subject, { type: 'wrong' }, { msgId: 'bad-1' })
    await publishMessage(js, subject, { type: 'test.ping', n: 3 } as never, { msgId: 'good-1' })
    await eventually('the valid message after the invalid one', async () => (valid.length === 1 ? true : undefined))
    await running.stop()
    expect(invalid).toEqual([subject])
    expect(valid).toEqual([3])
  })
})
