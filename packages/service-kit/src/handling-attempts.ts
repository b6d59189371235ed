import type { Names } from '@calsync/contracts'
import type { JetStreamClient } from '@nats-io/jetstream'
import { type KV, Kvm } from '@nats-io/kv'

/**
 * Crash detection for JetStream consumers. A message whose handling kills the process (out of
 * memory, a native fault) is redelivered after every restart and kills it again: a loop that
 * takes the service down for every tenant. JetStream only counts deliveries, and a delivery can
 * also end in a nak (a database outage, a busy lease), which must retry for as long as it takes.
 * So the consumer notes what it knows, and only off the common path: nothing for a first delivery
 * that settles, a note when a delivery ends in a nak, and a "started" note before handling a
 * redelivery. A redelivery that finds no nak noted for the delivery before it, or a started note
 * never settled, knows that delivery died in the middle.
 */
export interface AttemptsRecord {
  /** Deliveries known (or, for a first delivery without a nak noted, inferred) to have died. */
  crashes: number
  /** The delivery being handled now; still there at the next delivery, it died. */
  started?: number
}

export type RedeliveryDecision =
  /** Handle it, noting `record` first. */
  | { kind: 'handle'; record: AttemptsRecord }
  /** Died `crashes` times: parked for an operator, never handled again by this consumer. */
  | { kind: 'park'; crashes: number }

/** Two crashes park a message: one may be bad luck (a deploy's kill), two in a row are the message. */
export const CRASHES_BEFORE_PARKING = 2

/**
 * What a consumer does with delivery `deliveryCount` (≥ 2) given what the deliveries before it
 * noted. Without any note the first delivery neither settled with a nak nor was noted: it died
 * (or its process died with it still buffered, which counts the same, conservatively).
 */
export function onRedelivery(
  deliveryCount: number,
  noted: AttemptsRecord | undefined,
  crashesBeforeParking = CRASHES_BEFORE_PARKING,
): RedeliveryDecision {
  const crashes = noted === undefined ? 1 : noted.crashes + (noted.started !== undefined ? 1 : 0)
  if (crashes >= crashesBeforeParking) return { kind: 'park', crashes }
  return { kind: 'handle', record: { crashes, started: deliveryCount } }
}

/** What is noted once a delivery settled: nothing after ack or term, its crash count after a nak. */
export function afterSettling(outcome: 'ack' | 'nak' | 'term', crashes: number): AttemptsRecord | undefined {
  return outcome === 'nak' ? { crashes } : undefined
}

/**
 * The stored message a note is about: consumer, stream sequence and the time the stream stored it.
 * The time matters: a stream deleted and made again (a reset, a test) numbers from 1 again, and a
 * note left by an earlier message with the same number must not count against a new one.
 */
export function attemptsKeyOf(consumer: string, streamSequence: number, storedAtNanos: bigint): string {
  return `${consumer}.${streamSequence}.${storedAtNanos}`
}

export interface HandlingAttempts {
  get(key: string): Promise<AttemptsRecord | undefined>
  put(key: string, record: AttemptsRecord): Promise<void>
  forget(key: string): Promise<void>
}

/** Notes outlive any redelivery backoff, and then go: a parked or settled message needs none. */
const ATTEMPTS_TTL_MS = 7 * 24 * 60 * 60_000

/** The notes in a JetStream KV bucket, shared by every instance of every consumer. */
export function openHandlingAttempts(options: { js: JetStreamClient; names: Names }): HandlingAttempts {
  let bucket: Promise<KV> | undefined
  const open = () => {
    bucket ??= new Kvm(options.js).create(options.names.buckets.handlingAttempts, { history: 1, ttl: ATTEMPTS_TTL_MS })
    bucket.catch(() => {
      bucket = undefined
    })
    return bucket
  }
  return {
    async get(key) {
      const entry = await (await open()).get(key)
      if (entry?.operation !== 'PUT') return undefined
      return parseRecord(entry.string())
    },
    async put(key, record) {
      await (await open()).put(key, JSON.stringify(record))
    },
    async forget(key) {
      await (await open()).delete(key)
    },
  }
}

/** A note that does not read as one counts as none: the delivery is then taken as a crash. */
function parseRecord(text: string): AttemptsRecord | undefined {
  try {
    const value = JSON.parse(text) as { crashes?: unknown; started?: unknown }
    if (typeof value.crashes !== 'number' || !Number.isInteger(value.crashes) || value.crashes < 0) return undefined
    return typeof value.started === 'number'
      ? { crashes: value.crashes, started: value.started }
      : { crashes: value.crashes }
  } catch {
    return undefined
  }
}
