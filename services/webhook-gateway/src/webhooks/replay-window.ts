import { ERROR_CODES } from '@calsync/contracts'

export type ReplayCheck = { ok: true } | { ok: false; code: typeof ERROR_CODES.staleDelivery; message: string }

export interface ReplayWindow {
  /** Judges a delivery by its signed `createdAt`, the only time reference Cal.com sends. */
  check(createdAt: string): ReplayCheck
}

/** Clocks drift; beyond this a future `createdAt` is not drift but a forged or broken sender. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000

export function createReplayWindow(options: {
  windowMs: number
  maxFutureSkewMs?: number
  clock: () => Date
}): ReplayWindow {
  const maxFutureSkewMs = options.maxFutureSkewMs ?? MAX_FUTURE_SKEW_MS
  const minutes = (ms: number) => `${Math.round((ms / 60_000) * 100) / 100}m`
  return {
    check(createdAt) {
      const created = Date.parse(createdAt)
      if (Number.isNaN(created)) {
        return { ok: false, code: ERROR_CODES.staleDelivery, message: 'createdAt is not a timestamp' }
      }
      const age = options.clock().getTime() - created
      if (age > options.windowMs) {
        const message = `createdAt is older than the replay window of ${minutes(options.windowMs)}`
        return { ok: false, code: ERROR_CODES.staleDelivery, message }
      }
      if (-age > maxFutureSkewMs) {
        const message = `createdAt is more than ${minutes(maxFutureSkewMs)} in the future`
        return { ok: false, code: ERROR_CODES.staleDelivery, message }
      }
      return { ok: true }
    },
  }
}
