import { isDuplicateKeyError } from '@calsync/service-kit'
import { type AppointmentSnapshot, minutesOf } from './appointment.ts'
import { type AppointmentsStore, conflictId, eventIdOf, MAX_CONFLICTS_PER_VERSION } from './appointments-store.ts'

export function overlaps(a: AppointmentSnapshot, b: AppointmentSnapshot): boolean {
  return (
    a.status === 'booked' &&
    b.status === 'booked' &&
    a.resource === b.resource &&
    Date.parse(a.start) < Date.parse(b.end) &&
    Date.parse(b.start) < Date.parse(a.end)
  )
}

export function needsMinute(appointment: AppointmentSnapshot, minute: string): boolean {
  return appointment.status === 'booked' && minutesOf(appointment.start, appointment.end).includes(minute)
}

/**
 * Double bookings (I2), recorded per version of each appointment and only ever inserted, so no
 * concurrent write can hide one. Marking is idempotent: a redelivery marks again and finds them.
 */
export function createConflicts(deps: { store: AppointmentsStore; clock?: () => Date }) {
  const { store } = deps
  const clock = deps.clock ?? (() => new Date())

  /** The newest written state of an appointment, even when its projection lags behind its events. */
  async function latest(appointmentId: string): Promise<AppointmentSnapshot | undefined> {
    const doc = await store.appointments.findOne({ _id: appointmentId })
    let snapshot: AppointmentSnapshot | undefined = doc ?? undefined
    for (let version = (doc?.version ?? 0) + 1; ; version++) {
      const event = await store.events.findOne({ _id: eventIdOf(appointmentId, version) })
      if (!event) return snapshot
      snapshot = event.snapshot
    }
  }

  /**
   * Marks that `appointmentId` at `version` overlaps `partner`. Answers the mark's id only when
   * this call inserted it: a change undoes what it inserted, never a mark another change made.
   */
  async function markOne(tenantId: string, appointmentId: string, version: number, partner: string) {
    for (let n = 1; n <= MAX_CONFLICTS_PER_VERSION; n++) {
      const _id = conflictId(appointmentId, version, n)
      const existing = await store.conflicts.findOne({ _id })
      if (existing?.partner === partner) return undefined
      if (existing) continue
      try {
        await store.conflicts.insertOne({
          _id,
          tenantId,
          appointmentId,
          version,
          partner,
          flaggedAt: clock().toISOString(),
        })
        return _id
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error
        n-- // someone else took this number at the same moment: look at it again
      }
    }
    return undefined
  }

  return {
    latest,

    /**
     * Marks a double booking on both sides. The partner is marked on its newest version; if it
     * moves on meanwhile, the mark follows it, so its next change sees the partnership. Answers
     * the ids of the marks it inserted (those its change undoes if it does not commit).
     */
    async mark(appointment: AppointmentSnapshot, partners: string[]): Promise<string[]> {
      const ids: string[] = []
      for (const partner of partners) {
        const own = await markOne(appointment.tenantId, appointment.id, appointment.version, partner)
        if (own) ids.push(own)
        for (let round = 0; round < 3; round++) {
          const current = await latest(partner)
          if (!current || !overlaps(current, appointment)) break
          const theirs = await markOne(appointment.tenantId, partner, current.version, appointment.id)
          if (theirs) ids.push(theirs)
          if ((await latest(partner))?.version === current.version) break
        }
      }
      return ids
    },

    /**
     * The partners of the version a change replaces that the new version still overlaps. A partner
     * with no committed state yet is kept too: a contest marks both sides before the contesting
     * booking's event is written, so a change in between cannot see where it will be (flag, never hide).
     */
    async keptPartners(appointmentId: string, version: number, next: AppointmentSnapshot): Promise<string[]> {
      const marks = await store.partnersOf(appointmentId, version)
      const kept = await Promise.all(
        marks.map(async (mark) => {
          const partner = await latest(mark.partner)
          return !partner || overlaps(partner, next) ? mark.partner : ''
        }),
      )
      return kept.filter(Boolean)
    },

    /** The partners of the version a change replaces, with their newest state. */
    async partnersOf(appointmentId: string, version: number): Promise<AppointmentSnapshot[]> {
      const marks = await store.partnersOf(appointmentId, version)
      const found = await Promise.all(marks.map((mark) => latest(mark.partner)))
      return found.filter((snapshot): snapshot is AppointmentSnapshot => snapshot !== undefined)
    },
  }
}

export type Conflicts = ReturnType<typeof createConflicts>
