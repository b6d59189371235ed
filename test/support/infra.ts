import { randomBytes } from 'node:crypto'
import { createNames, type Names } from '@calsync/contracts'
import { connectNats, createLogger, type Logger } from '@calsync/service-kit'
import type { JetStreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { MongoClient } from 'mongodb'
import { inject } from 'vitest'

export const natsUrl = () => inject('natsUrl')
export const mongoUrl = () => inject('mongoUrl')

/** A NATS namespace of its own, so streams, subjects and buckets never collide between tests. */
export function uniqueNames(): Names {
  return createNames(`t${randomBytes(5).toString('hex')}`)
}

export function uniqueDbName(label: string): string {
  return `test_${label}_${randomBytes(4).toString('hex')}`
}

export function quietLogger(name = 'test'): Logger {
  return createLogger({ name, level: 'silent' })
}

export async function connectTestNats(): Promise<NatsConnection> {
  return connectNats({ url: natsUrl(), name: 'test', logger: quietLogger() })
}

export async function connectTestMongo(options: { monitorCommands?: boolean } = {}): Promise<MongoClient> {
  const client = new MongoClient(mongoUrl(), { serverSelectionTimeoutMS: 10_000, ...options })
  await client.connect()
  return client
}

/** Polls until `probe` returns a value (not undefined), or fails after `timeoutMs` naming `what`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * True when none of the consumers has anything pending or unacknowledged, and each has acked up
 * to its stream's last message (right after a publish, consumer info can lag behind the stream).
 */
export async function consumersIdle(
  jsm: JetStreamManager,
  consumers: ReadonlyArray<{ stream: string; durable: string }>,
): Promise<boolean> {
  for (const consumer of consumers) {
    const lastSeq = (await jsm.streams.info(consumer.stream)).state.last_seq
    const info = await jsm.consumers.info(consumer.stream, consumer.durable)
    if (info.num_pending > 0 || info.num_ack_pending > 0 || info.ack_floor.stream_seq < lastSeq) return false
  }
  return true
}
