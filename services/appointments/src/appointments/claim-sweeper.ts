import type { Logger } from '@calsync/service-kit'
import { AppointmentBusyError, type AppointmentLocks } from './appointment-lock.ts'
import type { AppointmentsStore } from './appointments-store.ts'
import type { ChangeWriter } from './change-writer.ts'

export interface ClaimSweeperOptions {
  store: AppointmentsStore
  locks: AppointmentLocks
  writer: ChangeWriter
  logger: Logger
  /**
   * Operations younger than this are left to their writer. Safety does not rest on it (a change
   * is settled only under its appointment's lock, which a live writer holds); it saves lock tries.
   */
  graceMs?: number
  clock?: () => Date
}

/**
 * Finishes or undoes the changes whose writer stopped and whose appointment nobody touched since
 * (the next change of an appointment does it first anyway). It looks only at the pending
 * operations — one per change in flight, so a handful, however many claims the book holds — and
 * each under the appointment's lock, so it never frees a minute a live change holds.
 */
export function createClaimSweeper(options: ClaimSweeperOptions) {
  const { store } = options
  const graceMs = options.graceMs ?? 5_000
  const clock = options.clock ?? (() => new Date())

  return async function sweep(): Promise<number> {
    const cutoff = clock().getTime() - graceMs
    const stopped = (await store.pendingOps.find({}).limit(1000).toArray()).filter(
      (op) => Date.parse(op.startedAt) < cutoff,
    )
    let recovered = 0
    for (const op of stopped) {
      try {
        await options.locks.withLock(op._id, { waitMs: 0 }, async (lock) => {
          if ((await store.pendingOps.findOne({ _id: op._id }))?.nonce !== op.nonce) return
          await options.writer.recover(lock)
          recovered++
        })
      } catch (error) {
        // Its appointment is being changed right now: that change settles it first.
        if (!(error instanceof AppointmentBusyError)) throw error
      }
    }
    if (recovered > 0) options.logger.info({ recovered }, 'settled changes left by stopped writers')
    return recovered
  }
}
