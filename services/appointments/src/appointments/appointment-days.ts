import { upsertRacing } from '@calsync/service-kit'
import type { Collection, Db } from 'mongodb'
import { createSlottedSets, type SlotDoc } from './slotted-sets.ts'

/**
 * Which appointments of a tenant start on a UTC day, so a list window is a handful of `_id`
 * lookups (FerretDB serves only those from an index; a range over `start` reads every
 * appointment the tenant ever had): one slotted set per tenant and day (slotted-sets.ts: a
 * member is never lost to a concurrent writer). An id goes into its day before the
 * appointment's projection shows that day and never comes out: the list reads each appointment
 * and keeps those whose own start and status match, so an id left in a day it moved away from
 * costs a read, never a wrong answer, and a crash between the two writes loses nothing.
 */
export type DaySlotDoc = SlotDoc<string>

const BACKFILLED = 'appointment_days backfilled'
/** The longest window read through days; a longer one (rare: exports) reads the appointments. */
export const MAX_WINDOW_DAYS = 93
const DAY_MS = 86_400_000

export const dayOf = (iso: string) => iso.slice(0, 10)
export const dayKey = (tenantId: string, day: string) => `${tenantId}|${day}`

/** The UTC days a window [from, to) touches, or undefined when it is longer than MAX_WINDOW_DAYS. */
export function windowDays(from: string, to: string): string[] | undefined {
  const first = Date.parse(`${dayOf(from)}T00:00:00.000Z`)
  const last = Date.parse(to) - 1
  if (!Number.isFinite(first) || !Number.isFinite(last)) return undefined
  if (last < Date.parse(from)) return []
  const count = Math.floor((last - first) / DAY_MS) + 1
  if (count > MAX_WINDOW_DAYS) return undefined
  return Array.from({ length: count }, (_, n) => new Date(first + n * DAY_MS).toISOString().slice(0, 10))
}

/** `markers` holds the one written once every appointment older than days is in its day. */
export function createAppointmentDays(db: Db, markers: Collection<{ _id: string }>) {
  const slots: Collection<DaySlotDoc> = db.collection<DaySlotDoc>('appointment_days')
  const sets = createSlottedSets(slots)
  let backfilled = false

  const file = (tenantId: string, day: string, appointmentIds: string[]) =>
    sets.add(dayKey(tenantId, day), tenantId, appointmentIds)

  return {
    slots,

    /** Puts the appointment in the day it starts on; idempotent. */
    async add(tenantId: string, appointmentId: string, start: string): Promise<void> {
      await file(tenantId, dayOf(start), [appointmentId])
    },

    /** The ids filed under these days (a superset of the appointments starting on them). */
    async idsOn(tenantId: string, days: string[]): Promise<string[]> {
      if (days.length === 0) return []
      const found = await sets.read(days.map((day) => dayKey(tenantId, day)))
      const ids = [...found.values()].flat().filter((doc) => doc.tenantId === tenantId)
      return [...new Set(ids.map((doc) => doc.value))]
    },

    /** Whether every appointment is known to be in its day (lists may read days only then). */
    ready(): boolean {
      return backfilled
    },

    /**
     * Files every existing appointment in its day, once per database (appointments written
     * before days existed); every instance may run it, each write is idempotent. Until it has
     * finished, lists read the appointments themselves.
     */
    async backfill<T extends { _id: string; tenantId: string; start: string }>(
      appointments: Collection<T>,
    ): Promise<number> {
      if (await markers.findOne({ _id: BACKFILLED })) {
        backfilled = true
        return 0
      }
      const grouped = new Map<string, { tenantId: string; day: string; ids: string[] }>()
      let filed = 0
      const cursor = appointments.find({}, { projection: { _id: 1, tenantId: 1, start: 1 } }) as AsyncIterable<
        Pick<T, '_id' | 'tenantId' | 'start'>
      >
      for await (const doc of cursor) {
        const day = dayOf(doc.start)
        const key = `${doc.tenantId}|${day}`
        const group = grouped.get(key) ?? { tenantId: doc.tenantId, day, ids: [] }
        group.ids.push(doc._id)
        grouped.set(key, group)
        filed++
      }
      for (const group of grouped.values()) await file(group.tenantId, group.day, group.ids)
      await upsertRacing(() =>
        markers.updateOne({ _id: BACKFILLED }, { $setOnInsert: { at: new Date().toISOString() } }, { upsert: true }),
      )
      backfilled = true
      return filed
    },
  }
}

export type AppointmentDays = ReturnType<typeof createAppointmentDays>
