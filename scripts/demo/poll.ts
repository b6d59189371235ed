import { setTimeout as sleep } from 'node:timers/promises'
import { DemoError } from './demo-error.ts'

/** Asks `probe` until it returns a value, or fails naming `what` after `timeoutMs`. */
export async function pollFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      // A refused connection or a 5xx while a service restarts is worth another look, not a failure.
      lastError = error
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new DemoError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${why}`)
    }
    await sleep(250)
  }
}
