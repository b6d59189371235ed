import type { Logger } from '@calsync/service-kit'
import { minutesOf } from './appointment.ts'
import type { AppointmentsStore } from './appointments-store.ts'

export interface ClaimSweeperOptions {
  store: AppointmentsStore
  logger: Logger
  /** Claims younger than this may belong to a change still in progress. */
  graceMs?: number
  clock?: () => Date
}

/**
 * Frees minutes a crashed writer left claimed: claims of appointments that were never written,
 * of cancelled ones, and of minutes an appointment left when it moved. Without this a crash
 * between claiming a slot and writing its event would block that slot for good.
 */
export function createClaimSweeper(options: ClaimSweeperOptions) {
  const { store } = options
  const graceMs = options.graceMs ?? 120_000
  const clock = options.clock ?? (() => new Date())

  return async function sweep(): Promise<number> {
    const cutoff = new Date(clock().getTime() - graceMs).toISOString()
    const old = await store.claims
      .find({ claimedAt: { $lt: cutoff } })
      .limit(1000)
      .toArray()
    if (old.length === 0) return 0
    const ids = [...new Set(old.map((claim) => claim.appointmentId))]
    const appointments = new Map(
      (await store.appointments.find({ _id: { $in: ids } }).toArray()).map((doc) => [doc._id, doc]),
    )
    const withEvents = new Set(
      (
        await store.events
          .find({ appointmentId: { $in: ids } })
          .project<{ appointmentId: string }>({ appointmentId: 1 })
          .toArray()
      ).map((event) => event.appointmentId),
    )
    const stale = old.filter((claim) => {
      const appointment = appointments.get(claim.appointmentId)
      // An event without its projection is being repaired by the relay: leave its claims alone.
      if (!appointment) return !withEvents.has(claim.appointmentId)
      if (appointment.status === 'cancelled') return true
      const minute = claim._id.slice(claim._id.lastIndexOf('|') + 1)
      return !minutesOf(appointment.start, appointment.end).includes(minute)
    })
    if (stale.length > 0) {
      await store.claims.deleteMany({ _id: { $in: stale.map((claim) => claim._id) } })
      options.logger.info({ released: stale.length }, 'released orphaned slot claims')
    }
    return stale.length
  }
}
