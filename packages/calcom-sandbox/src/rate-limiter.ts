/**
 * Cal.com's default throttler (calcom/README.md §3.3): a fixed window per API key, 120 calls per
 * 60 s by default; answers carry X-RateLimit-*-Default headers and no Retry-After.
 */
export function createRateLimiter(options: { perMinute: number; clock: () => number }) {
  const windows = new Map<string, { startedAt: number; count: number }>()
  return {
    hit(apiKey: string): { allowed: boolean; headers: Record<string, string> } {
      const now = options.clock()
      let window = windows.get(apiKey)
      if (!window || now - window.startedAt >= 60_000) {
        window = { startedAt: now, count: 0 }
        windows.set(apiKey, window)
      }
      window.count++
      const resetSeconds = Math.max(1, Math.ceil((window.startedAt + 60_000 - now) / 1000))
      return {
        allowed: window.count <= options.perMinute,
        headers: {
          'x-ratelimit-limit-default': String(options.perMinute),
          'x-ratelimit-remaining-default': String(Math.max(0, options.perMinute - window.count)),
          'x-ratelimit-reset-default': String(resetSeconds),
        },
      }
    },
    reset: () => windows.clear(),
  }
}
