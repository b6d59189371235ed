import { DuplicateKeyError, insertUnique, isDuplicateKeyError } from '@calsync/service-kit'
import type { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectTestMongo, uniqueDbName } from '../../../test/support/infra.ts'

describe('MongoDB-wire database', () => {
  let client: MongoClient
  beforeAll(async () => {
    client = await connectTestMongo()
  })
  afterAll(async () => {
    await client.close()
  })

  it('turns a unique-index violation on insert into a typed error with a stable code', async () => {
    const db = client.db(uniqueDbName('mongo'))
    const slots = db.collection<{ resource: string; slot: string }>('slots')
    await slots.createIndex({ resource: 1, slot: 1 }, { unique: true })
    await insertUnique(slots, { resource: 'dr-jones', slot: '2030-01-01T10:00' })

    const error = await insertUnique(slots, { resource: 'dr-jones', slot: '2030-01-01T10:00' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DuplicateKeyError)
    expect((error as DuplicateKeyError).code).toBe('duplicate_key')
    expect((error as DuplicateKeyError).statusCode).toBe(409)
    expect(isDuplicateKeyError((error as DuplicateKeyError).cause)).toBe(true)

    // A different key on the compound index is fine, and exactly two documents exist.
    await insertUnique(slots, { resource: 'dr-jones', slot: '2030-01-01T10:15' })
    expect(await slots.countDocuments()).toBe(2)
    await db.dropDatabase()
  })
})
