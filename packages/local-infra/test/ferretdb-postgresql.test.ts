import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ferretDbBackend } from '../src/local-servers.ts'
import { type RestartableServer, startRestartableFerretDb } from '../src/restartable.ts'

describe('FerretDB over PostgreSQL', () => {
  let dataDir: string
  let database: RestartableServer
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'calsync-ferretdb-pg-'))
    database = await startRestartableFerretDb({ dataDir, backend: 'postgresql' })
  }, 60_000)
  afterAll(async () => {
    await database?.dispose()
    rmSync(dataDir, { recursive: true, force: true })
  })

  const withClient = async <T>(work: (client: MongoClient) => Promise<T>): Promise<T> => {
    const client = new MongoClient(database.url, { serverSelectionTimeoutMS: 10_000 })
    try {
      return await work(client)
    } finally {
      await client.close()
    }
  }

  it('says which backend it runs on', () => {
    expect(database.version).toMatch(/^ferretdb v1\.\d+\.\d+ over postgres \(PostgreSQL\) \d+/)
  })

  it('keeps an acknowledged write through a SIGKILL of FerretDB and PostgreSQL', async () => {
    await withClient(async (client) => {
      const things = client.db('durability').collection<{ _id: string; owner: string }>('things')
      await things.insertOne({ _id: 'a', owner: 'x' })
      await expect(things.insertOne({ _id: 'a', owner: 'y' })).rejects.toMatchObject({ code: 11000 })
    })
    await database.stop()
    expect(database.isRunning()).toBe(false)
    await database.start()
    const found = await withClient((client) =>
      client.db('durability').collection<{ _id: string; owner: string }>('things').findOne({ _id: 'a', owner: 'x' }),
    )
    expect(found).toEqual({ _id: 'a', owner: 'x' })
  }, 60_000)

  it('is chosen by CALSYNC_FERRETDB_BACKEND, and a wrong value is refused by name', () => {
    expect(ferretDbBackend({ CALSYNC_FERRETDB_BACKEND: 'sqlite' })).toBe('sqlite')
    expect(ferretDbBackend({ CALSYNC_FERRETDB_BACKEND: 'postgresql' })).toBe('postgresql')
    expect(() => ferretDbBackend({ CALSYNC_FERRETDB_BACKEND: 'pg' })).toThrow(
      'CALSYNC_FERRETDB_BACKEND: must be sqlite or postgresql, got "pg"',
    )
  })

  it('is PostgreSQL unless told, but a data dir holding SQLite data and no cluster keeps it', () => {
    // The suite provisions PostgreSQL (npm test installs it), so its binaries are there.
    expect(ferretDbBackend({})).toBe('postgresql')
    const fresh = mkdtempSync(join(tmpdir(), 'calsync-backend-'))
    expect(ferretDbBackend({}, fresh)).toBe('postgresql')
    mkdirSync(join(fresh, 'ferretdb'))
    writeFileSync(join(fresh, 'ferretdb', 'calsync.sqlite'), '')
    expect(ferretDbBackend({}, fresh)).toBe('sqlite')
    expect(ferretDbBackend({ CALSYNC_FERRETDB_BACKEND: 'postgresql' }, fresh)).toBe('postgresql')
    mkdirSync(join(fresh, 'postgres'))
    expect(ferretDbBackend({}, fresh)).toBe('postgresql')
    rmSync(fresh, { recursive: true, force: true })
  })
})
