// The appointment lock's lease across processes, on the real database: a live holder keeps it for
// as long as it works, a dead one (killed, so never renewing) loses it after one lease.
import type { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectTestMongo, uniqueDbName } from '../../../test/support/infra.ts'
import { createAppointmentLocks } from '../src/appointments/appointment-lock.ts'
import { createAppointmentsStore } from '../src/appointments/appointments-store.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the appointment lock', () => {
  let mongo: MongoClient
  let store: ReturnType<typeof createAppointmentsStore>
  beforeAll(async () => {
    mongo = await connectTestMongo()
    store = createAppointmentsStore(mongo.db(uniqueDbName('locks')))
  })
  afterAll(() => mongo.close())

  it('a live holder working longer than one lease keeps the lock: nobody takes it over meanwhile', async () => {
    // Two processes: each its own lock owner.
    const first = createAppointmentLocks(store, { ttlMs: 400 })
    const second = createAppointmentLocks(store, { ttlMs: 400 })
    const order: string[] = []
    let freshAtEnd = false
    const holder = first.withLock('apt_live', { waitMs: 0 }, async (lock) => {
      order.push('first starts')
      await sleep(1500)
      freshAtEnd = lock.isFresh()
      order.push('first ends')
    })
    await sleep(50)
    const taker = second.withLock('apt_live', { waitMs: 5000 }, async () => {
      order.push('second starts')
    })
    await Promise.all([holder, taker])
    expect(order).toEqual(['first starts', 'first ends', 'second starts'])
    expect(freshAtEnd, 'a renewed lease is still fresh').toBe(true)
  })

  it('a holder killed mid-change frees the appointment after one lease, within a request’s wait', async () => {
    const locks = createAppointmentLocks(store)
    const now = Date.now()
    // What a SIGKILLed process leaves: its lease, never renewed again.
    await store.locks.insertOne({
      _id: 'apt_dead',
      owner: 'dead-process:1',
      acquiredAt: new Date(now).toISOString(),
      expiresAt: new Date(now + locks.ttlMs).toISOString(),
    })
    const ran = await locks.withLock('apt_dead', { waitMs: 10_000 }, async () => 'changed')
    expect(ran).toBe('changed')
  }, 20_000)

  it('a holder whose lease was taken over is no longer fresh, so it does not commit', async () => {
    const locks = createAppointmentLocks(store, { ttlMs: 400 })
    const fresh = await locks.withLock('apt_taken', { waitMs: 0 }, async (lock) => {
      await store.locks.updateOne({ _id: 'apt_taken' }, { $set: { owner: 'someone-else:1' } })
      await sleep(300)
      return lock.isFresh()
    })
    expect(fresh).toBe(false)
  })

  it('a release the database refuses for a moment is tried again: the next change does not wait a lease', async () => {
    // FerretDB on SQLite answers "database is locked" under contention; the delete that frees the
    // lock must not be lost to it, or every waiter waits out the whole lease (and the API 503s).
    let refusals = 1
    const locks$ = new Proxy(store.locks, {
      get(target, property) {
        if (property === 'deleteOne' && refusals > 0) {
          refusals--
          return async () => {
            throw new Error('database is locked (5) (SQLITE_BUSY)')
          }
        }
        const value = Reflect.get(target, property)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const locks = createAppointmentLocks({ ...store, locks: locks$ } as typeof store)
    await locks.withLock('apt_release', { waitMs: 0 }, async () => 'changed')
    expect(refusals, 'the release met the refusal').toBe(0)
    expect(await store.locks.findOne({ _id: 'apt_release' }), 'the lock after its release').toBeNull()
  })
})
