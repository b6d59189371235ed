import type { AppointmentSnapshot } from './appointment.ts'
import { minutesOf } from './appointment.ts'
import type { AppointmentsStore, EventDoc } from './appointments-store.ts'
import { type Conflicts, needsMinute } from './conflicts.ts'
import type { SlotClaims } from './slot-claims.ts'

const minutesNeeded = (snapshot: AppointmentSnapshot | undefined) =>
  snapshot?.status === 'booked' ? minutesOf(snapshot.start, snapshot.end) : []

export function createMinutesRelease(deps: {
  store: AppointmentsStore
  claims: SlotClaims
  conflicts: Conflicts
  clock: () => Date
}) {
  const { claims, conflicts, clock } = deps
  /** Frees the minutes the previous version held and this one does not; partners that need them get them. */
  return async function release(
    previous: AppointmentSnapshot,
    next: AppointmentSnapshot,
    event: EventDoc,
  ): Promise<void> {
    const kept = new Set(minutesNeeded(next))
    const released = minutesNeeded(previous).filter((minute) => !kept.has(minute))
    if (released.length === 0) return
    const partners = (await conflicts.partnersOf(next.id, previous.version)).filter((p) => p.status === 'booked')
    const docs = await claims.read(released.map((minute) => claims.key(next.tenantId, next.resource, minute)))
    const freed: string[] = []
    const handedTo = new Map<string, AppointmentSnapshot>()
    for (const doc of docs) {
      if (doc?.appointmentId !== next.id) continue
      const minute = doc._id.slice(doc._id.lastIndexOf('|') + 1)
      const taker = partners.find((partner) => needsMinute(partner, minute))
      if (!taker) {
        freed.push(doc._id)
        continue
      }
      await claims.handOver(doc, { appointmentId: taker.id, version: taker.version }, `handoff:${event._id}`, clock())
      handedTo.set(doc._id, taker)
    }
    await claims.deleteIds(freed)
    // A partner that changed meanwhile may no longer need what it got: its own release ran before
    // the hand-over reached it, so free those minutes here.
    for (const [claimId, taker] of handedTo) {
      const now = await conflicts.latest(taker.id)
      const minute = claimId.slice(claimId.lastIndexOf('|') + 1)
      if (now && now.version !== taker.version && !needsMinute(now, minute)) {
        const [doc] = await claims.read([claimId])
        if (doc?.appointmentId === taker.id && doc.op === `handoff:${event._id}`) await claims.deleteIds([claimId])
      }
    }
  }
}
