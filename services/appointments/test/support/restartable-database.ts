import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  containerRuntimeAvailable,
  findBinary,
  type RestartableServer,
  startRestartableFerretDb,
  startRestartableMongoContainer,
} from '@calsync/local-infra'
import { MongoClient } from 'mongodb'
import { eventually } from '../../../../test/support/infra.ts'

export interface RestartableDatabase extends RestartableServer {
  /** Where it came from, for the test's output. */
  description: string
}

/**
 * A database of the test's own that it can take down and bring back (the suite's one is shared
 * and must stay up): a FerretDB process when the binary is there, else a MongoDB container.
 * Neither is a reason to skip: the outage test fails and says what is missing.
 */
export async function startRestartableDatabase(): Promise<RestartableDatabase> {
  if (findBinary('ferretdb')) {
    const dataDir = mkdtempSync(join(tmpdir(), 'calsync-outage-'))
    try {
      const server = await startRestartableFerretDb({ dataDir })
      return withPing({
        ...server,
        description: `FerretDB process (${server.version}) at ${server.url}, data in ${dataDir}`,
        async dispose() {
          try {
            await server.dispose()
          } finally {
            rmSync(dataDir, { recursive: true, force: true })
          }
        },
      })
    } catch (error) {
      rmSync(dataDir, { recursive: true, force: true })
      throw error
    }
  }
  if (await containerRuntimeAvailable()) {
    const server = await startRestartableMongoContainer()
    return withPing({ ...server, description: `${server.version} at ${server.url}` })
  }
  throw new Error(
    'the database outage test needs a database it can stop and restart, and found none: ' +
      'no `ferretdb` binary (CALSYNC_TOOLS_BIN, .tools/bin or PATH; `npm test` or `npm start` builds it) ' +
      'and no container engine answering (for a MongoDB container)',
  )
}

/** Resolves `start()` only once the database answers a ping over the wire protocol. */
function withPing(database: RestartableDatabase): RestartableDatabase {
  return {
    ...database,
    async start() {
      await database.start()
      const client = new MongoClient(database.url, { serverSelectionTimeoutMS: 2000 })
      try {
        await eventually(
          `${database.description} to answer after its restart`,
          async () =>
            (await client
              .db('admin')
              .command({ ping: 1 })
              .catch(() => undefined))
              ? true
              : undefined,
          60_000,
        )
      } finally {
        await client.close()
      }
    },
  }
}
