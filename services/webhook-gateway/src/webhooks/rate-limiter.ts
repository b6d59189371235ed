export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number }

export interface RateLimiter {
  /** Spends one request of `key`'s budget if there is one. */
  take(key: string): RateDecision
}

interface Bucket {
  tokens: number
  updatedAt: number
}

/**
 * A token bucket per key, in memory: each instance enforces the limit on its own, so N instances
 * allow up to N times the rate. Buckets start full, so a burst of `perMinute` passes at once.
 */
export function createRateLimiter(options: { perMinute: number; clock: () => Date }): RateLimiter {
  const capacity = options.perMinute
  const tokensPerMs = options.perMinute / 60_000
  const buckets = new Map<string, Bucket>()
  return {
    take(key) {
      const now = options.clock().getTime()
      const bucket = buckets.get(key) ?? { tokens: capacity, updatedAt: now }
      // A clock stepping backwards must not mint tokens.
      const elapsed = Math.max(0, now - bucket.updatedAt)
      bucket.tokens = Math.min(capacity, bucket.tokens + elapsed * tokensPerMs)
      bucket.updatedAt = now
      buckets.set(key, bucket)
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return { ok: true }
      }
      const waitMs = (1 - bucket.tokens) / tokensPerMs
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) }
    },
  }
}
