import { trace } from '@opentelemetry/api'
import type { Db } from 'mongodb'
import { type AppointmentsStore, type EventDoc, eventIdOf } from '../appointments/appointments-store.ts'
import { createSlottedSets, type SlotDoc } from '../appointments/slotted-sets.ts'
import { entryOfEvent, type HistoryEntry, inOrder } from './history-entries.ts'

/** How notes were kept before slots: one document per appointment (still read). */
interface LegacyHistoryDoc {
  _id: string
  tenantId: string
  entries: HistoryEntry[]
}

/** Two notes are the same when every field is (a redelivered message makes the same note). */
const sameEntry = (a: HistoryEntry, b: HistoryEntry) =>
  a.at === b.at &&
  a.what === b.what &&
  a.who === b.who &&
  a.version === b.version &&
  a.bookingUid === b.bookingUid &&
  a.detail === b.detail &&
  a.traceId === b.traceId

/** The trace the caller runs in, if telemetry is on (an invalid all-zero id otherwise). */
export function currentTraceId(): string | null {
  const id = trace.getActiveSpan()?.spanContext().traceId
  return id && !/^0+$/.test(id) ? id : null
}

/**
 * An appointment's story: its versions are read from the events it already has (nothing is
 * written twice), and what changed no version — sync attempts, echoes, double bookings — is noted
 * in a slotted set per appointment (slotted-sets.ts: notes made at once by two consumers are both
 * kept, where one document's `$addToSet` lost one on FerretDB), read by `_id` only. A note already
 * there adds nothing, so a redelivered message notes nothing new.
 */
export function createAppointmentHistory(deps: { db: Db; store: AppointmentsStore }) {
  const collection = deps.db.collection<SlotDoc<HistoryEntry>>('appointment_history')
  const notes = createSlottedSets<HistoryEntry>(collection, sameEntry)
  const { store } = deps

  async function versions(tenantId: string, appointmentId: string): Promise<EventDoc[]> {
    const found: EventDoc[] = []
    for (let version = 1; ; version++) {
      const event = await store.events.findOne({ _id: eventIdOf(appointmentId, version) })
      if (!event || event.tenantId !== tenantId) break
      found.push(event)
      // Re-drives of this version: `<id>:v<version>:r<n>`.
      for (let drive = 1; ; drive++) {
        const redrive = await store.events.findOne({ _id: `${eventIdOf(appointmentId, version)}:r${drive}` })
        if (!redrive) break
        found.push(redrive)
      }
    }
    return found
  }

  return {
    async note(tenantId: string, appointmentId: string, entry: HistoryEntry): Promise<void> {
      await notes.add(appointmentId, tenantId, [entry])
    },

    /** The tenant an appointment belongs to (for the operator, who names no tenant). */
    async tenantOf(appointmentId: string): Promise<string | undefined> {
      return (await store.appointments.findOne({ _id: appointmentId }))?.tenantId
    },

    /** Undefined when the appointment is not the tenant's (its existence is not revealed). */
    async read(tenantId: string, appointmentId: string): Promise<HistoryEntry[] | undefined> {
      const events = await versions(tenantId, appointmentId)
      if (events.length === 0) return undefined
      let previous: EventDoc | undefined
      const entries: HistoryEntry[] = []
      for (const event of events) {
        entries.push(entryOfEvent(event, previous))
        if (event.type !== 'appointment.sync_requested') previous = event
      }
      // The one document notes were kept in before slots, then the slots.
      const legacy = (await collection.findOne({ _id: appointmentId })) as unknown as LegacyHistoryDoc | null
      if (legacy?.tenantId === tenantId) entries.push(...legacy.entries)
      for (const slot of (await notes.read([appointmentId])).get(appointmentId) ?? []) {
        if (slot.tenantId === tenantId) entries.push(slot.value)
      }
      return inOrder(entries)
    },
  }
}

export type AppointmentHistory = ReturnType<typeof createAppointmentHistory>
