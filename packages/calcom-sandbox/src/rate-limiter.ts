export interface RateLimiterOptions {
  limit: number
  windowMs?: number
  /** How long a tracker stays refused once over the limit; Cal.com's default equals the window. */
  blockMs?: number
  clock: () => number
}

export interface RateLimitVerdict {
  allowed: boolean
  headers: Record<string, string>
}

/**
 * Cal.com's default throttler (calcom/README.md §3.3): per tracker (the API key), `limit` calls
 * per 60 s window, then refused for the block duration. Every answer carries
 * X-RateLimit-{Limit,Remaining,Reset}-Default, the reset in seconds; never a Retry-After.
 */
export function createRateLimiter(options: RateLimiterOptions) {
  const windowMs = options.windowMs ?? 60_000
  const blockMs = options.blockMs ?? windowMs
  const trackers = new Map<string, { expiresAt: number; hits: number; blockedUntil: number }>()

  const verdict = (allowed: boolean, remaining: number, untilMs: number): RateLimitVerdict => ({
    allowed,
    headers: {
      'x-ratelimit-limit-default': String(options.limit),
      'x-ratelimit-remaining-default': String(Math.max(0, remaining)),
      'x-ratelimit-reset-default': String(Math.max(1, Math.ceil(untilMs / 1000))),
    },
  })

  return {
    hit(tracker: string): RateLimitVerdict {
      const now = options.clock()
      let state = trackers.get(tracker)
      if (state && now < state.blockedUntil) return verdict(false, 0, state.blockedUntil - now)
      if (!state || now >= state.expiresAt) {
        state = { expiresAt: now + windowMs, hits: 0, blockedUntil: 0 }
        trackers.set(tracker, state)
      }
      state.hits++
      if (state.hits > options.limit) {
        state.blockedUntil = now + blockMs
        // The block outlives the window: the next window starts when the block ends.
        state.expiresAt = state.blockedUntil
        return verdict(false, 0, blockMs)
      }
      return verdict(true, options.limit - state.hits, state.expiresAt - now)
    },
    reset(): void {
      trackers.clear()
    },
  }
}

export type RateLimiter = ReturnType<typeof createRateLimiter>
