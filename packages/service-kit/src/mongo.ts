import { type Collection, type Document, MongoClient, MongoServerError, type OptionalUnlessRequiredId } from 'mongodb'
import { DuplicateKeyError } from './errors.ts'

/** One client per process; the driver pools connections and reconnects by itself. */
export async function connectMongo(url: string, appName: string): Promise<MongoClient> {
  const client = new MongoClient(url, { appName, serverSelectionTimeoutMS: 10_000 })
  await client.connect()
  return client
}

export function isDuplicateKeyError(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000
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
