import { type Logger, sha256Hex } from '@calsync/service-kit'
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, StorageType } from '@nats-io/jetstream'
import { type KV, Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { blockUntil, type CallWindowState, decideCall, parseCallWindowState } from './call-window.ts'

/**
 * One Cal.com call budget per API key, shared by every calcom-sync instance through a JetStream KV
 * bucket: each entry is the key's sliding-window log (call-window.ts), changed only by
 * compare-and-set on its revision, so two instances can never both take the last call of a window.
 */
export interface CallBudget {
  /**
   * Resolves once one call for `keyId` is counted, waiting while the window is full or Cal.com
   * blocked the key. Rejects with `signal.reason` if aborted first (a worker shutting down).
   */
  acquire(keyId: string, signal?: AbortSignal): Promise<void>
  /** No call for `keyId` before `untilMs` (epoch ms) on any instance; a longer block already set stays. */
  block(keyId: string, untilMs: number): Promise<void>
}

export interface CallBudgetOptions {
  /** Whatever `Kvm` takes: a JetStream client (its options apply) or a NATS connection. */
  js: JetStreamClient | NatsConnection
  bucket: string
  /** Calls allowed per API key in any interval of `windowMs`. */
  limit: number
  windowMs?: number
  /** Epoch ms; tests may pass their own. Instances should share a clock (NTP) within a few ms. */
  clock?: () => number
  logger: Logger
}

/**
 * Entries vanish this long after their last write, so keys of removed tenants do not stay
 * forever. Fixed rather than derived from the window, so every instance creates the bucket with
 * the same config. Only a block longer than this (Cal.com blocks for 60 s) could be forgotten,
 * and then the next 429 sets it again.
 */
const ENTRY_TTL_MS = 10 * 60_000

/** Waiters on every instance wake for the same freed call; a little jitter spreads their attempts. */
const MAX_JITTER_MS = 25

/** The KV key of an API key: a hash, never the key itself (the bucket is readable by any NATS client). */
export function callBudgetKeyOf(apiKey: string): string {
  return `k_${sha256Hex(apiKey)}`
}

export async function openCallBudget(options: CallBudgetOptions): Promise<CallBudget> {
  const windowMs = options.windowMs ?? 60_000
  const { limit } = options
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`call limit must be a positive integer, not ${limit}`)
  if (!(windowMs > 0 && windowMs <= ENTRY_TTL_MS)) {
    throw new RangeError(`call window must be between 1 ms and ${ENTRY_TTL_MS} ms, not ${windowMs}`)
  }
  const clock = options.clock ?? Date.now
  const log = options.logger.child({ component: 'call-budget' })
  const kv: KV = await new Kvm(options.js).create(options.bucket, {
    history: 1,
    ttl: ENTRY_TTL_MS,
    storage: StorageType.File,
  })

  /** The key's state and the revision a write must be based on (undefined: no entry yet). */
  async function read(keyId: string): Promise<{ state: CallWindowState | undefined; revision: number | undefined }> {
    const entry = await kv.get(keyId)
    if (entry === null) return { state: undefined, revision: undefined }
    // A deleted or purged key (nothing deletes today) is written on its marker's revision: still a CAS.
    if (entry.operation !== 'PUT') return { state: undefined, revision: entry.revision }
    let value: unknown
    try {
      value = entry.json()
    } catch {
      value = undefined
    }
    const state = parseCallWindowState(value)
    if (state === undefined) log.warn({ keyId }, 'replacing an unreadable call budget entry')
    return { state, revision: entry.revision }
  }

  /** One compare-and-set: false when another writer got there first since `revision` was read. */
  async function write(keyId: string, revision: number | undefined, state: CallWindowState): Promise<boolean> {
    const value = JSON.stringify(state)
    try {
      if (revision === undefined) await kv.create(keyId, value)
      else await kv.update(keyId, value, revision)
      return true
    } catch (error) {
      if (isRevisionConflict(error)) return false
      throw error
    }
  }

  return {
    async acquire(keyId, signal) {
      for (;;) {
        signal?.throwIfAborted()
        const { state, revision } = await read(keyId)
        // The clock is read after the entry: a write that wins its CAS then never carries an
        // earlier time than the state it replaces (given one clock), so the log stays in order.
        const decision = decideCall(state, clock(), limit, windowMs)
        if (decision.ok) {
          if (await write(keyId, revision, decision.next)) return
          continue // another caller counted a call first: decide again on the new state, at once
        }
        const waitMs = decision.waitMs + Math.random() * MAX_JITTER_MS
        log.debug({ keyId, waitMs: Math.round(waitMs) }, 'waiting for the Cal.com call budget')
        await sleep(waitMs, signal)
      }
    },

    async block(keyId, untilMs) {
      for (;;) {
        const { state, revision } = await read(keyId)
        if (state !== undefined && state.blockedUntil >= untilMs) return
        if (await write(keyId, revision, blockUntil(state, untilMs))) {
          log.debug({ keyId, blockedForMs: Math.max(0, untilMs - clock()) }, 'Cal.com call budget blocked')
          return
        }
      }
    },
  }
}

/** JetStream refused the write because the key's last revision is no longer the one it was based on. */
function isRevisionConflict(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  )
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it is aborted. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
