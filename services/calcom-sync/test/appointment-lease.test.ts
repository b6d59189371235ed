// The appointment lease against the real database: one holder at a time, kept while renewed,
// taken over only once its holder stopped renewing.
import type { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectTestMongo, uniqueDbName } from '../../../test/support/infra.ts'
import { holdLease, LeaseLostError } from '../src/sync/appointment-lease.ts'
import { createSyncStore, type SyncStore } from '../src/sync/sync-store.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('appointment lease', () => {
  let mongo: MongoClient
  let store: SyncStore
  beforeAll(async () => {
    mongo = await connectTestMongo()
    store = createSyncStore(mongo.db(uniqueDbName('lease')))
  })
  afterAll(async () => mongo.close())

  it('makes a second holder wait until the first releases, however long the first holds it', async () => {
    const first = await holdLease('apt_wait', { store, owner: 'a', ttlMs: 600 })
    const order: string[] = []
    const second = holdLease('apt_wait', { store, owner: 'b', ttlMs: 600 }).then((lease) => {
      order.push('b acquired')
      return lease
    })
    // Held for more than two TTLs: renewal keeps it.
    await sleep(1500)
    first.check()
    order.push('a releases')
    await first.release()
    const lease = await second
    expect(order).toEqual(['a releases', 'b acquired'])
    await lease.release()
  })

  it('is taken over after its holder stopped renewing, and the old holder then knows it lost it', async () => {
    // A holder that died: its lease row stays, unrenewed.
    expect(await store.acquireLease('apt_dead', 'dead', 300)).toBe(true)
    const next = await holdLease('apt_dead', { store, owner: 'next', ttlMs: 300 })
    next.check()
    await next.release()

    const slow = await holdLease('apt_stolen', { store, owner: 'slow', ttlMs: 300 })
    // Another worker takes the row over (as after an expiry seen elsewhere): renewal then fails.
    await store.releaseLease('apt_stolen', 'slow')
    expect(await store.acquireLease('apt_stolen', 'thief', 10_000)).toBe(true)
    await sleep(250)
    expect(() => slow.check()).toThrow(LeaseLostError)
    await slow.release()
    expect(await store.acquireLease('apt_stolen', 'third', 10_000)).toBe(false)
  })

  it('stops waiting when its signal aborts', async () => {
    const held = await holdLease('apt_abort', { store, owner: 'a', ttlMs: 5000 })
    const controller = new AbortController()
    const waiting = holdLease('apt_abort', { store, owner: 'b', ttlMs: 5000, signal: controller.signal })
    controller.abort(new Error('stopping'))
    await expect(waiting).rejects.toThrow('stopping')
    await held.release()
  })
})
