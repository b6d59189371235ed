import type { SyncStore } from './sync-store.ts'

/** The lease was lost mid-sync (renewal failed past its expiry): stop before the next Cal.com write. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError'
}

export interface HeldLease {
  /** Throws {@link LeaseLostError} unless the lease is certainly still ours. */
  check(): void
  release(): Promise<void>
}

export interface LeaseOptions {
  store: SyncStore
  owner: string
  ttlMs: number
  /** How often a waiter looks again while another worker holds the lease. */
  pollMs?: number
  signal?: AbortSignal
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })

/**
 * Waits for an appointment's lease, then keeps it renewed (every third of its TTL) until
 * released. Waiting is not failing: the caller keeps its message alive meanwhile, so a busy
 * appointment spends no JetStream delivery. A holder that died frees it after the TTL.
 */
export async function holdLease(appointmentId: string, options: LeaseOptions): Promise<HeldLease> {
  const { store, owner, ttlMs } = options
  const pollMs = options.pollMs ?? Math.max(50, Math.min(500, Math.floor(ttlMs / 20)))
  while (!(await store.acquireLease(appointmentId, owner, ttlMs))) await sleep(pollMs, options.signal)
  return keptRenewed(appointmentId, options)
}

/** The lease if it is free now (or its holder's expired), else undefined: for work that can wait for a later turn. */
export async function tryHoldLease(key: string, options: LeaseOptions): Promise<HeldLease | undefined> {
  if (!(await options.store.acquireLease(key, options.owner, options.ttlMs))) return undefined
  return keptRenewed(key, options)
}

function keptRenewed(appointmentId: string, options: LeaseOptions): HeldLease {
  const { store, owner, ttlMs } = options
  // Until a renewal proves otherwise, the lease is ours up to this instant (minus a margin for clock skew).
  let safeUntil = Date.now() + ttlMs * 0.8
  let lost = false
  const renew = async () => {
    const renewedAt = Date.now()
    try {
      if (await store.renewLease(appointmentId, owner, ttlMs)) safeUntil = renewedAt + ttlMs * 0.8
      else lost = true
    } catch {
      // A database hiccup: the lease may still be ours; `safeUntil` decides.
    }
  }
  const timer = setInterval(() => void renew(), Math.max(10, Math.floor(ttlMs / 3)))
  timer.unref()
  return {
    check() {
      if (lost || Date.now() > safeUntil) {
        throw new LeaseLostError(`the lease of appointment ${appointmentId} expired during the sync`)
      }
    },
    async release() {
      clearInterval(timer)
      await store.releaseLease(appointmentId, owner)
    },
  }
}
