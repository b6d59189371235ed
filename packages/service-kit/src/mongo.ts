import type { Meter } from '@opentelemetry/api'
import {
  type Collection,
  type Document,
  MongoClient,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type OptionalUnlessRequiredId,
} from 'mongodb'
import { countDbCommands } from './db-command-metrics.ts'
import { DuplicateKeyError } from './errors.ts'

/**
 * One client per process; the driver pools connections and reconnects by itself. With a meter,
 * every command it sends is counted (`calsync_db_commands_total`).
 */
export async function connectMongo(url: string, appName: string, meter?: Meter): Promise<MongoClient> {
  const client = new MongoClient(url, {
    appName,
    serverSelectionTimeoutMS: 10_000,
    monitorCommands: meter !== undefined,
  })
  if (meter) countDbCommands(client, meter, appName)
  await client.connect()
  return client
}

const UNAVAILABLE_MESSAGE = /SQLITE_BUSY|database is locked|connection \d+ to \S+ closed|ECONNRESET|ECONNREFUSED/

/**
 * The database cannot be reached right now (down, restarting, or FerretDB's SQLite busy): a
 * passing condition to answer with 503 and Retry-After, not an internal error.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError
  ) {
    return true
  }
  // A bulk write cut off by a lost connection arrives as a MongoBulkWriteError (a server error)
  // carrying the network error's message.
  return error instanceof MongoServerError && UNAVAILABLE_MESSAGE.test(error.message)
}

export function isDuplicateKeyError(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000
}

/**
 * Runs an upsert by `_id` again if it lost the race to insert: two first writers of a document
 * both find nothing and both insert, and FerretDB (unlike MongoDB) does not retry the loser.
 * Once the document exists the second attempt is a plain update, so it cannot collide again.
 */
export async function upsertRacing<T>(upsert: () => Promise<T>): Promise<T> {
  try {
    return await upsert()
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error
    return upsert()
  }
}

/**
 * Inserts a document, turning a unique-index violation into a `DuplicateKeyError`. Inserts into
 * unique indexes are the one exclusivity check that is atomic on MongoDB and FerretDB alike.
 */
export async function insertUnique<T extends Document>(
  collection: Collection<T>,
  document: OptionalUnlessRequiredId<T>,
): Promise<void> {
  try {
    await collection.insertOne(document)
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new DuplicateKeyError(collection.collectionName, error)
    throw error
  }
}

export async function pingMongo(client: MongoClient): Promise<boolean> {
  try {
    await client.db('admin').command({ ping: 1 })
    return true
  } catch {
    return false
  }
}
