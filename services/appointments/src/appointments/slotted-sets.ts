import { isDuplicateKeyError } from '@calsync/service-kit'
import type { Collection, Filter, OptionalUnlessRequiredId } from 'mongodb'

/**
 * Sets that grow under concurrent writers without losing a member, on FerretDB too: a set is a
 * row of numbered slots, `<set>#0`, `#1`, …, each one document holding one member, only ever
 * inserted. An insert into the unique `_id` is the one write FerretDB makes atomic; its update
 * operators read, change and write back the whole document, so two `$addToSet`s on one document
 * at once lose one (a test with eight writers lost five). Every read is by `_id`, so served by an
 * index. Members are never removed.
 */
export interface SlotDoc<T> {
  _id: string
  set: string
  tenantId: string
  value: T
}

/** Slots read at a time: most sets hold fewer. */
const SLOTS_PER_READ = 16

export const slotId = (set: string, slot: number) => `${set}#${slot}`

export function createSlottedSets<T>(
  slots: Collection<SlotDoc<T>>,
  /** Whether two members are the same (adding one already there adds nothing). */
  same: (a: T, b: T) => boolean = (a, b) => a === b,
) {
  /** Each set's slots in order, reading a further batch of a set only while the last was full. */
  async function read(sets: string[]): Promise<Map<string, SlotDoc<T>[]>> {
    const found = new Map(sets.map((set) => [set, [] as SlotDoc<T>[]]))
    let open = sets
    for (let batch = 0; open.length > 0; batch++) {
      const ids = open.flatMap((set) =>
        Array.from({ length: SLOTS_PER_READ }, (_, n) => slotId(set, batch * SLOTS_PER_READ + n)),
      )
      const docs = new Map<string, SlotDoc<T>>()
      for (let at = 0; at < ids.length; at += 256) {
        const filter = { _id: { $in: ids.slice(at, at + 256) } } as Filter<SlotDoc<T>>
        for (const doc of await slots.find(filter).toArray()) docs.set(doc._id, doc as SlotDoc<T>)
      }
      open = open.filter((set) => {
        const members = found.get(set) as SlotDoc<T>[]
        let filled = 0
        for (let n = 0; n < SLOTS_PER_READ; n++) {
          const doc = docs.get(slotId(set, batch * SLOTS_PER_READ + n))
          if (!doc) break
          members.push(doc)
          filled++
        }
        return filled === SLOTS_PER_READ
      })
    }
    return found
  }

  return {
    read,

    /** Adds the members not in the set yet, each in the first free slot (one another writer took: the next). */
    async add(set: string, tenantId: string, values: T[]): Promise<void> {
      const held = ((await read([set])).get(set) as SlotDoc<T>[]).map((doc) => doc.value)
      let next = held.length
      for (const value of values) {
        if (held.some((member) => same(member, value))) continue
        for (;;) {
          try {
            const doc = { _id: slotId(set, next), set, tenantId, value } as OptionalUnlessRequiredId<SlotDoc<T>>
            await slots.insertOne(doc)
            held.push(value)
            next++
            break
          } catch (error) {
            if (!isDuplicateKeyError(error)) throw error
            // Taken meanwhile: by this member (then done) or another (then try the next slot).
            const taker = await slots.findOne({ _id: slotId(set, next) } as Filter<SlotDoc<T>>)
            next++
            if (taker) held.push(taker.value as T)
            if (taker && same(taker.value as T, value)) break
          }
        }
      }
    },
  }
}

export type SlottedSets<T> = ReturnType<typeof createSlottedSets<T>>
