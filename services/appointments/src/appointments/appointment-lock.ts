import { randomBytes } from 'node:crypto'
import { ERROR_CODES } from '@calsync/contracts'
import { AppError, isDuplicateKeyError } from '@calsync/service-kit'
import type { AppointmentsStore } from './appointments-store.ts'

/** Another change of this appointment is under way; the caller retries shortly. */
export class AppointmentBusyError extends AppError {
  override name = 'AppointmentBusyError'
  constructor(appointmentId: string) {
    super(ERROR_CODES.unavailable, `appointment ${appointmentId} is being changed; retry shortly`, {
      statusCode: 503,
      retryAfterSeconds: 1,
    })
  }
}

/** Below the API's 10 s wait for a lock, with room for the taker's polling. */
const DEFAULT_LEASE_MS = 8000
/** 20, 40, 80, 160 ms between tries: about 0.3 s in all, well within a lease. */
const RELEASE_ATTEMPTS = 5

export interface HeldLock {
  appointmentId: string
  /** False once the lease has run so long that another process may take it over. */
  isFresh(): boolean
}

export interface LockOptions {
  /** How long to wait for the lock before giving up with `AppointmentBusyError`. */
  waitMs: number
}

/**
 * One change of an appointment at a time, across processes: the lock is an insert into a unique
 * index (atomic on MongoDB and FerretDB), held as a lease so a crashed holder's lock expires.
 * Whoever takes the lock first finishes or undoes the change a crashed holder left (see
 * ChangeWriter.recover), so every change starts from a settled appointment.
 *
 * The lease is short and renewed while its holder works: a killed process frees its appointments
 * within one lease (shorter than a request's wait for the lock, so nobody is answered 503 for a
 * dead peer), while a slow live one keeps them.
 */
export function createAppointmentLocks(
  store: AppointmentsStore,
  options: {
    ttlMs?: number
    clock?: () => Date
    /** The release failed every try: the lock stays until its lease ends. */
    onReleaseFailed?: (appointmentId: string, error: unknown) => void
  } = {},
) {
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_MS
  const clock = options.clock ?? (() => new Date())
  const owner = randomBytes(6).toString('hex')
  let sequence = 0

  async function tryAcquire(appointmentId: string, token: string): Promise<boolean> {
    const now = clock()
    try {
      await store.locks.insertOne({
        _id: appointmentId,
        owner: token,
        acquiredAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
      })
      return true
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error
    }
    const held = await store.locks.findOne({ _id: appointmentId })
    if (held && Date.parse(held.expiresAt) < now.getTime()) {
      // The holder died: take its lease over. The owner in the filter keeps two takers from both winning.
      await store.locks.deleteOne({ _id: appointmentId, owner: held.owner })
    }
    return false
  }

  /**
   * Pushes the lease's end out every fifth of it. Fresh means renewed within half a lease: the
   * lease then still has half of it to run, so no taker can have it yet; a holder that cannot
   * renew (database trouble, a takeover) stops being fresh and must not commit.
   */
  function renewWhileHeld(appointmentId: string, token: string) {
    let renewedAt = clock().getTime()
    let lost = false
    let renewing = false
    const timer = setInterval(async () => {
      if (renewing || lost) return
      renewing = true
      const now = clock()
      try {
        const expiresAt = new Date(now.getTime() + ttlMs).toISOString()
        const result = await store.locks.updateOne({ _id: appointmentId, owner: token }, { $set: { expiresAt } })
        if (result.matchedCount === 1) renewedAt = now.getTime()
        else lost = true
      } catch {
        // Not renewed: the lease runs on towards its end, and isFresh turns false before it.
      } finally {
        renewing = false
      }
    }, ttlMs / 5)
    timer.unref()
    return {
      isFresh: () => !lost && clock().getTime() - renewedAt < ttlMs / 2,
      stop: () => clearInterval(timer),
    }
  }

  /**
   * Frees our own lease (after a takeover the lock is someone else's). Tried a few times: a delete
   * refused for a moment (SQLite's "database is locked") would otherwise keep every waiter out
   * for the rest of the lease. If it never goes through, the lease still ends on its own.
   */
  async function release(appointmentId: string, token: string): Promise<void> {
    for (let attempt = 0; attempt < RELEASE_ATTEMPTS; attempt++) {
      try {
        await store.locks.deleteOne({ _id: appointmentId, owner: token })
        return
      } catch (error) {
        if (attempt === RELEASE_ATTEMPTS - 1) {
          options.onReleaseFailed?.(appointmentId, error)
          return
        }
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt))
      }
    }
  }

  return {
    ttlMs,

    async withLock<T>(
      appointmentId: string,
      lockOptions: LockOptions,
      run: (lock: HeldLock) => Promise<T>,
    ): Promise<T> {
      const token = `${owner}:${++sequence}`
      const deadline = clock().getTime() + lockOptions.waitMs
      for (let attempt = 0; !(await tryAcquire(appointmentId, token)); attempt++) {
        if (clock().getTime() >= deadline) throw new AppointmentBusyError(appointmentId)
        await new Promise((resolve) => setTimeout(resolve, Math.min(5 * 2 ** attempt, 100) * (0.5 + Math.random())))
      }
      const renewal = renewWhileHeld(appointmentId, token)
      try {
        return await run({ appointmentId, isFresh: renewal.isFresh })
      } finally {
        renewal.stop()
        await release(appointmentId, token)
      }
    },
  }
}

export type AppointmentLocks = ReturnType<typeof createAppointmentLocks>
