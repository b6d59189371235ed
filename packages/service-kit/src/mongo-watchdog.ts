// The MongoDB driver can be left unable to reach a database that is back: after FerretDB was
// killed mid-traffic, one process's server monitor waited forever on a hello over a socket that
// had been destroyed (monitor state "monitoring", check in progress, no socket), so every
// operation failed server selection for minutes while the database served other processes
// (found by `npm run chaos`). This watches for exactly that, and reconnects the client.
import { MongoClient } from 'mongodb'
import type { Logger } from 'pino'
import { pingMongo } from './mongo.ts'

const PING_TIMEOUT_MS = 5000

export interface MongoWatchdogOptions {
  client: MongoClient
  url: string
  logger: Logger
  everyMs?: number
  /** Failing this long, while fresh connections worked at two checks in a row, means our client is stuck. */
  stuckAfterMs?: number
}

export function watchMongo(options: MongoWatchdogOptions) {
  const everyMs = options.everyMs ?? 5000
  const stuckAfterMs = options.stuckAfterMs ?? 15_000
  let lastOk = Date.now()
  // The database answered a fresh connection at the last check too: it is back, not coming back.
  let answeredBefore = false
  let running = false
  let reconnects = 0

  /** A connection of its own, closed at once: can the database be reached at all? */
  async function databaseAnswers(): Promise<boolean> {
    const probe = new MongoClient(options.url, { serverSelectionTimeoutMS: 3000, connectTimeoutMS: 3000 })
    try {
      await probe.connect()
      return await pingMongo(probe)
    } catch {
      return false
    } finally {
      await probe.close().catch(() => undefined)
    }
  }

  /** A ping that cannot hang the watchdog: a frozen connection may never answer. */
  async function clientAnswers(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS)
    })
    try {
      return await Promise.race([pingMongo(options.client), late])
    } finally {
      clearTimeout(timer)
    }
  }

  async function check(): Promise<void> {
    if (await clientAnswers()) {
      lastOk = Date.now()
      answeredBefore = false
      return
    }
    if (Date.now() - lastOk < stuckAfterMs) return
    const answers = await databaseAnswers()
    const back = answers && answeredBefore
    answeredBefore = answers
    if (!back) return
    reconnects++
    options.logger.error(
      { failingForMs: Date.now() - lastOk, reconnects },
      'database answers, but this process cannot reach it: reconnecting the database client',
    )
    await options.client.close()
    await options.client.connect()
    lastOk = Date.now()
    answeredBefore = false
    options.logger.info('database client reconnected')
  }

  const timer = setInterval(() => {
    if (running) return
    running = true
    check()
      .catch((error: unknown) => options.logger.warn({ err: error }, 'database watchdog check failed'))
      .finally(() => {
        running = false
      })
  }, everyMs)
  timer.unref()
  return {
    reconnects: () => reconnects,
    stop: () => clearInterval(timer),
  }
}
