import { upsertRacing } from '@calsync/service-kit'
import { trace } from '@opentelemetry/api'
import type { Db } from 'mongodb'
import { type AppointmentsStore, type EventDoc, eventIdOf } from '../appointments/appointments-store.ts'
import { entryOfEvent, type HistoryEntry, inOrder } from './history-entries.ts'

interface HistoryDoc {
  _id: string
  tenantId: string
  entries: HistoryEntry[]
}

/** The trace the caller runs in, if telemetry is on (an invalid all-zero id otherwise). */
export function currentTraceId(): string | null {
  const id = trace.getActiveSpan()?.spanContext().traceId
  return id && !/^0+$/.test(id) ? id : null
}

/**
 * An appointment's story: its versions are read from the events it already has (nothing is
 * written twice), and what changed no version — sync attempts, echoes, double bookings — is noted
 * in one document per appointment, by `_id` only (the lookup FerretDB pushes down). A note is
 * added to a set, so a redelivered message notes nothing new.
 */
export function createAppointmentHistory(deps: { db: Db; store: AppointmentsStore }) {
  const notes = deps.db.collection<HistoryDoc>('appointment_history')
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
      await upsertRacing(() =>
        notes.updateOne(
          { _id: appointmentId },
          { $addToSet: { entries: entry }, $setOnInsert: { tenantId } },
          { upsert: true },
        ),
      )
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
      const noted = await notes.findOne({ _id: appointmentId })
      if (noted && noted.tenantId === tenantId) entries.push(...noted.entries)
      return inOrder(entries)
    },
  }
}

export type AppointmentHistory = ReturnType<typeof createAppointmentHistory>
