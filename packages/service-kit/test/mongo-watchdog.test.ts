// The database watchdog on the real database, behind a TCP relay the test can disturb. The stuck
// client chaos found: its server monitor waits on a hello that never settles while the server is
// marked unknown, so every operation fails server selection though the database answers. Here: the
// client's first connection (the monitor's) stops passing bytes, the others are cut (so the server
// is marked unknown and the monitor asked to check, on its frozen connection).
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { connectMongo, createLogger, isDatabaseUnavailable } from '@calsync/service-kit'
import { MongoNetworkError, MongoServerError } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mongoUrl } from '../../../test/support/infra.ts'
import { watchMongo } from '../src/mongo-watchdog.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Relays to the suite's database; freeze() stops the connections open now, refuseNew() new ones. */
async function startRelay(target: URL) {
  const open: Socket[] = []
  const frozen = new WeakSet<Socket>()
  let refusing = false
  const server: Server = createServer((client) => {
    if (refusing) return client.destroy()
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) })
    open.push(client)
    const pass = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (!frozen.has(client)) to.write(chunk)
      })
    pass(client, upstream)
    pass(upstream, client)
    const end = () => {
      open.splice(open.indexOf(client), 1)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `mongodb://127.0.0.1:${port}/`,
    freeze: () => {
      for (const socket of open) frozen.add(socket)
    },
    /** Cuts every connection but the oldest (the monitor's). */
    cutAllButFirst: () => {
      for (const socket of open.slice(1)) socket.destroy()
    },
    refuseNew: (value: boolean) => {
      refusing = value
    },
    close: () => {
      for (const socket of open) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('the database watchdog', () => {
  let relay: Awaited<ReturnType<typeof startRelay>>
  beforeAll(async () => {
    relay = await startRelay(new URL(mongoUrl()))
  })
  afterAll(() => relay.close())
  const logger = createLogger({ name: 'watchdog-test', level: 'silent' })

  it('reconnects a client whose server monitor is stuck while the database answers new connections', async () => {
    const client = await connectMongo(relay.url, 'watchdog-test')
    const watchdog = watchMongo({ client, url: relay.url, logger, everyMs: 200, stuckAfterMs: 1000 })
    try {
      const things = client.db('watchdog').collection('things')
      await things.insertOne({ n: 1 })
      // An operation in flight when its connection is cut marks the server unknown.
      relay.freeze()
      const inFlight = things.findOne({ n: 1 }).catch(() => undefined)
      await sleep(300)
      relay.cutAllButFirst()
      await inFlight
      let found: unknown
      for (let i = 0; i < 60 && !found; i++) {
        await sleep(500)
        found = await things.findOne({ n: 1 }, { maxTimeMS: 1000 }).catch(() => undefined)
      }
      expect(found, 'the client works again').toMatchObject({ n: 1 })
      expect(watchdog.reconnects()).toBeGreaterThanOrEqual(1)
    } finally {
      watchdog.stop()
      await client.close()
    }
  }, 60_000)

  it('leaves the client alone when the database itself cannot be reached (an outage, not a stuck client)', async () => {
    const client = await connectMongo(relay.url, 'watchdog-test')
    const watchdog = watchMongo({ client, url: relay.url, logger, everyMs: 200, stuckAfterMs: 500 })
    try {
      relay.refuseNew(true)
      relay.freeze()
      await sleep(8000)
      expect(watchdog.reconnects()).toBe(0)
    } finally {
      relay.refuseNew(false)
      watchdog.stop()
      await client.close()
    }
  }, 60_000)
})

describe('database unavailability, as the HTTP layer classifies it (503, not 500)', () => {
  it.each([
    ['a network error', new MongoNetworkError('connection 8 to 127.0.0.1:27017 closed'), true],
    [
      'a bulk write cut off by a lost connection',
      new MongoServerError({ message: 'connection 42 to 127.0.0.1:27017 closed' }),
      true,
    ],
    ['FerretDB busy', new MongoServerError({ message: 'database is locked (5) (SQLITE_BUSY)' }), true],
    ['a duplicate key', new MongoServerError({ message: 'E11000 duplicate key error', code: 11000 }), false],
    ['any other error', new Error('connection 1 to x closed'), false],
  ])('%s → %s', (_, error, unavailable) => {
    expect(isDatabaseUnavailable(error)).toBe(unavailable)
  })
})
