import { isDuplicateKeyError, upsertRacing } from '@calsync/service-kit'
import type { Collection, Db } from 'mongodb'

/**
 * Which appointments of a tenant start on a UTC day, so a list window is a handful of `_id`
 * lookups (FerretDB serves only those from an index; a range over `start` reads every
 * appointment the tenant ever had). A day is a row of numbered slots, `tenant|day#0`, `#1`, …,
 * each holding one appointment id and only ever inserted: an insert into the unique `_id` is
 * the one write FerretDB makes atomic (its updates read, change and write back the whole
 * document, so two `$addToSet`s at once lose one). An id goes into its day before the
 * appointment's projection shows that day and never comes out: the list reads each appointment
 * and keeps those whose own start and status match, so an id left in a day it moved away from
 * costs a read, never a wrong answer, and a crash between the two writes loses nothing.
 */
export interface DaySlotDoc {
  _id: string
  tenantId: string
  day: string
  appointmentId: string
}

const BACKFILLED = 'appointment_days backfilled'
/** The longest window read through days; a longer one (rare: exports) reads the appointments. */
export const MAX_WINDOW_DAYS = 93
/** Slots read at a time: most days of one tenant hold fewer appointments. */
const SLOTS_PER_READ = 16
const DAY_MS = 86_400_000

export const dayOf = (iso: string) => iso.slice(0, 10)
export const slotKey = (tenantId: string, day: string, slot: number) => `${tenantId}|${day}#${slot}`

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
  let backfilled = false

  /** The ids in the slots of each day (in slot order), reading a further batch of a day only while the last was full. */
  async function slotsOf(tenantId: string, days: string[]): Promise<Map<string, string[]>> {
    const found = new Map(days.map((day) => [day, [] as string[]]))
    let open = days
    for (let batch = 0; open.length > 0; batch++) {
      const keys = open.flatMap((day) =>
        Array.from({ length: SLOTS_PER_READ }, (_, n) => slotKey(tenantId, day, batch * SLOTS_PER_READ + n)),
      )
      const docs = new Map<string, DaySlotDoc>()
      for (let at = 0; at < keys.length; at += 256) {
        for (const doc of await slots.find({ _id: { $in: keys.slice(at, at + 256) } }).toArray()) docs.set(doc._id, doc)
      }
      open = open.filter((day) => {
        const ids = found.get(day) as string[]
        let filled = 0
        for (let n = 0; n < SLOTS_PER_READ; n++) {
          const doc = docs.get(slotKey(tenantId, day, batch * SLOTS_PER_READ + n))
          if (!doc) break
          if (doc.tenantId === tenantId) ids.push(doc.appointmentId)
          filled++
        }
        return filled === SLOTS_PER_READ
      })
    }
    return found
  }

  /** Files ids under a day not holding them yet, each in the first free slot (another writer's slot: the next). */
  async function file(tenantId: string, day: string, appointmentIds: string[]): Promise<void> {
    const held = (await slotsOf(tenantId, [day])).get(day) as string[]
    const known = new Set(held)
    let next = held.length
    for (const appointmentId of appointmentIds) {
      if (known.has(appointmentId)) continue
      for (;;) {
        try {
          await slots.insertOne({ _id: slotKey(tenantId, day, next), tenantId, day, appointmentId })
          known.add(appointmentId)
          next++
          break
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error
          // Taken meanwhile: by this id (then done) or another (then the next slot).
          const taker = await slots.findOne({ _id: slotKey(tenantId, day, next) })
          next++
          if (taker?.appointmentId === appointmentId) {
            known.add(appointmentId)
            break
          }
        }
      }
    }
  }

  return {
    slots,

    /** Puts the appointment in the day it starts on; idempotent. */
    async add(tenantId: string, appointmentId: string, start: string): Promise<void> {
      await file(tenantId, dayOf(start), [appointmentId])
    },

    /** The ids filed under these days (a superset of the appointments starting on them). */
    async idsOn(tenantId: string, days: string[]): Promise<string[]> {
      if (days.length === 0) return []
      return [...new Set([...(await slotsOf(tenantId, days)).values()].flat())]
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
