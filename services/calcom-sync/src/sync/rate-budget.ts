/**
 * A per-tenant budget of Cal.com calls (a token bucket refilled per minute), so one tenant's
 * backlog or rate limit never spends another tenant's budget (DESIGN §6). A 429 from Cal.com
 * blocks the tenant until its reset.
 */
export function createRateBudget(options: { perMinute: number; clock?: () => number }) {
  const clock = options.clock ?? Date.now
  const buckets = new Map<string, { tokens: number; updatedAt: number; blockedUntil: number }>()
  const refillPerMs = options.perMinute / 60_000

  function bucketOf(tenantId: string) {
    let bucket = buckets.get(tenantId)
    if (!bucket) {
      bucket = { tokens: options.perMinute, updatedAt: clock(), blockedUntil: 0 }
      buckets.set(tenantId, bucket)
    }
    const now = clock()
    bucket.tokens = Math.min(options.perMinute, bucket.tokens + (now - bucket.updatedAt) * refillPerMs)
    bucket.updatedAt = now
    return bucket
  }

  return {
    /** Takes `calls` tokens, or answers how long to wait before trying again. */
    take(tenantId: string, calls = 1): { ok: true } | { ok: false; waitMs: number } {
      const bucket = bucketOf(tenantId)
      const now = clock()
      if (bucket.blockedUntil > now) return { ok: false, waitMs: bucket.blockedUntil - now }
      if (bucket.tokens >= calls) {
        bucket.tokens -= calls
        return { ok: true }
      }
      return { ok: false, waitMs: Math.ceil((calls - bucket.tokens) / refillPerMs) }
    },
    block(tenantId: string, waitMs: number): void {
      const bucket = bucketOf(tenantId)
      bucket.blockedUntil = Math.max(bucket.blockedUntil, clock() + waitMs)
      bucket.tokens = 0
    },
  }
}

export type RateBudget = ReturnType<typeof createRateBudget>
