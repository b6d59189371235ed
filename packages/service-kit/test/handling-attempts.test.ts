import { consumerDefinitions, createSchemaCheck, streamDefinitions } from '@calsync/contracts'
import {
  type AttemptsRecord,
  ack,
  afterSettling,
  ensureConsumer,
  ensureStream,
  type InvalidMessage,
  nak,
  onRedelivery,
  openHandlingAttempts,
  publishMessage,
  startConsumer,
} from '@calsync/service-kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import fc from 'fast-check'
import Type from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectTestNats, eventually, quietLogger, uniqueNames } from '../../../test/support/infra.ts'

describe('onRedelivery: when a redelivered message is parked', () => {
  const cases: Array<[string, number, AttemptsRecord | undefined, string]> = [
    ['first delivery died (no nak noted)', 2, undefined, 'handle:1'],
    ['first delivery nak noted', 2, { crashes: 0 }, 'handle:0'],
    ['a noted redelivery died after a nak', 3, { crashes: 0, started: 2 }, 'handle:1'],
    ['first died, second died', 3, { crashes: 1, started: 2 }, 'park:2'],
    ['first died, second nak', 3, { crashes: 1 }, 'handle:1'],
    ['first died, second nak, third died', 4, { crashes: 1, started: 3 }, 'park:2'],
    ['many naks, never a death', 40, { crashes: 0 }, 'handle:0'],
    ['notes expired or unreadable: counted as one death', 9, undefined, 'handle:1'],
  ]
  it.each(cases)('%s', (_, deliveryCount, noted, expected) => {
    const decision = onRedelivery(deliveryCount, noted)
    const text = decision.kind === 'park' ? `park:${decision.crashes}` : `handle:${decision.record.crashes}`
    expect(text).toBe(expected)
    if (decision.kind === 'handle') expect(decision.record.started).toBe(deliveryCount)
  })

  it('afterSettling keeps a note only after a nak', () => {
    expect(afterSettling('ack', 1)).toBeUndefined()
    expect(afterSettling('term', 1)).toBeUndefined()
    expect(afterSettling('nak', 1)).toEqual({ crashes: 1 })
  })

  // A model of the consumer's notes over any run of delivery endings: parked exactly at the
  // delivery after the second death, whatever naks come between, never after naks alone.
  it('parks after exactly two deaths, whatever naks come between (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('nak', 'died', 'ack'), { minLength: 1, maxLength: 30 }), (endings) => {
        let noted: AttemptsRecord | undefined
        let deaths = 0
        for (let delivery = 1; delivery <= endings.length; delivery++) {
          let crashes = 0
          if (delivery > 1) {
            const decision = onRedelivery(delivery, noted)
            if (decision.kind === 'park') {
              expect(deaths).toBe(2)
              return
            }
            noted = decision.record
            crashes = decision.record.crashes
            expect(crashes).toBe(deaths)
          }
          const ending = endings[delivery - 1]
          if (ending === 'ack') return
          if (ending === 'died') deaths++
          else noted = afterSettling('nak', crashes)
        }
        expect(deaths).toBeLessThanOrEqual(2)
      }),
    )
  })
})

const Ping = Type.Object({ type: Type.Literal('test.ping'), n: Type.Integer() })

describe('a consumer with handling notes, against real JetStream', () => {
  let nc: NatsConnection
  beforeAll(async () => {
    nc = await connectTestNats()
  })
  afterAll(() => nc.drain())

  it('parks a message whose handling never ends twice, and keeps retrying one that only fails', async () => {
    const names = uniqueNames()
    const jsm = await jetstreamManager(nc)
    const js = jetstream(nc)
    await ensureStream(jsm, streamDefinitions(names).review)
    // A short ackWait stands for a process that died holding the message: it is redelivered.
    const definition = { ...consumerDefinitions(names).review, ackWaitMs: 400, maxDeliver: 50 }
    await ensureConsumer(jsm, definition)
    const parked: InvalidMessage[] = []
    const deliveries = new Map<number, number[]>()
    const consumer = await startConsumer({
      js,
      definition,
      schema: createSchemaCheck(Ping),
      logger: quietLogger(),
      concurrency: 8,
      errorBackoff: { initialMs: 50, maxMs: 50 },
      attempts: openHandlingAttempts({ js, names }),
      onInvalid: async (message) => {
        parked.push(message)
      },
      handle: async ({ body, deliveryCount }) => {
        deliveries.set(body.n, [...(deliveries.get(body.n) ?? []), deliveryCount])
        // 1: never settles (its process "dies" each time); 2: fails five times, then succeeds.
        if (body.n === 1) return new Promise(() => undefined)
        return body.n === 2 && deliveryCount <= 5 ? nak(50) : ack()
      },
    })
    try {
      for (const n of [1, 2]) {
        await publishMessage(js, names.subjects.review('acme', 'test'), { type: 'test.ping', n } as never, {
          msgId: `p${n}`,
        })
      }
      await eventually('the crashing message parked', async () => (parked.length > 0 ? true : undefined), 20_000)
      await eventually('the failing message acked', async () => (deliveries.get(2)?.length === 6 ? true : undefined))
      expect(parked).toHaveLength(1)
      expect(parked[0]).toMatchObject({ crashes: 2, deliveryCount: 3, consumer: definition.durable })
      // Handled twice, parked at its third delivery; the failing one was never parked.
      expect(deliveries.get(1)).toEqual([1, 2])
      expect(deliveries.get(2)).toEqual([1, 2, 3, 4, 5, 6])
      const info = await jsm.consumers.info(definition.stream, definition.durable)
      expect(info.num_ack_pending).toBe(0)
    } finally {
      await Promise.race([consumer.stop(), new Promise((resolve) => setTimeout(resolve, 1000))])
    }
  })

  it('does not count a note left by an earlier stream of the same name against a new message', async () => {
    const names = uniqueNames()
    const jsm = await jetstreamManager(nc)
    const js = jetstream(nc)
    const stream = streamDefinitions(names).review
    const definition = { ...consumerDefinitions(names).review, ackWaitMs: 400, maxDeliver: 50 }
    const attempts = openHandlingAttempts({ js, names })
    const parked: InvalidMessage[] = []
    const deliveries = new Map<number, number[]>()
    const run = async (hangUntil: Record<number, number>) =>
      startConsumer({
        js,
        definition,
        schema: createSchemaCheck(Ping),
        logger: quietLogger(),
        concurrency: 4,
        attempts,
        onInvalid: async (message) => {
          parked.push(message)
        },
        handle: async ({ body, deliveryCount }) => {
          deliveries.set(body.n, [...(deliveries.get(body.n) ?? []), deliveryCount])
          // Hanging stands for a death: the delivery never settles and is redelivered.
          if (deliveryCount <= (hangUntil[body.n] ?? 0)) return new Promise(() => undefined)
          return ack()
        },
      })
    const stop = (consumer: { stop(): Promise<void> }) =>
      Promise.race([consumer.stop(), new Promise((resolve) => setTimeout(resolve, 1000))])

    // An earlier life of the stream: message 1 dies twice, its second death's note is left behind.
    await ensureStream(jsm, stream)
    await ensureConsumer(jsm, definition)
    const first = await run({ 1: 99 })
    await publishMessage(js, names.subjects.review('acme', 'test'), { type: 'test.ping', n: 1 } as never, {
      msgId: 'a1',
    })
    await eventually('the second delivery started', async () => (deliveries.get(1)?.length === 2 ? true : undefined))
    await stop(first)
    await jsm.streams.delete(stream.name)

    // The stream again, numbering from 1: its first message dies once, then must be handled.
    await ensureStream(jsm, stream)
    await ensureConsumer(jsm, definition)
    const second = await run({ 2: 1 })
    try {
      await publishMessage(js, names.subjects.review('acme', 'test'), { type: 'test.ping', n: 2 } as never, {
        msgId: 'b1',
      })
      await eventually('the new message handled', async () => (deliveries.get(2)?.length === 2 ? true : undefined))
      await eventually('the new message acked', async () => {
        const info = await jsm.consumers.info(definition.stream, definition.durable)
        return info.num_ack_pending === 0 && info.num_pending === 0 ? true : undefined
      })
      expect(parked.filter((message) => message.subject.endsWith('.test') && message.streamSequence === 1)).toEqual([])
    } finally {
      await stop(second)
    }
  })
})
