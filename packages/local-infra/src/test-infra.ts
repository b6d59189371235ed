import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { containerRuntimeAvailable, startMongoContainer, startNatsContainer } from './containers.ts'
import { startFerretDb, startNatsServer } from './local-servers.ts'

export interface TestInfra {
  natsUrl: string
  mongoUrl: string
  /** One line per server: where it came from and its version. */
  description: string[]
  stop(): Promise<void>
}

/**
 * Decides once per test run where NATS and the database come from: NATS_URL/MONGO_URL when set;
 * else containers when a runtime answers; else local nats-server and FerretDB on free ports.
 * `CALSYNC_INFRA=local` skips the container probe.
 */
export async function startTestInfra(env: NodeJS.ProcessEnv = process.env): Promise<TestInfra> {
  const stops: Array<() => Promise<unknown>> = []
  const description: string[] = []
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined)
  }
  try {
    let natsUrl = env.NATS_URL
    let mongoUrl = env.MONGO_URL
    if (natsUrl) description.push(`NATS from NATS_URL (${natsUrl})`)
    if (mongoUrl) description.push('database from MONGO_URL')
    const useContainers =
      (!natsUrl || !mongoUrl) && env.CALSYNC_INFRA !== 'local' && (await containerRuntimeAvailable())
    let tempDir: string | undefined
    const dataDir = () => {
      if (!tempDir) {
        const dir = mkdtempSync(join(tmpdir(), 'calsync-test-'))
        tempDir = dir
        stops.push(async () => rmSync(dir, { recursive: true, force: true }))
      }
      return tempDir
    }
    if (!natsUrl) {
      const nats = useContainers ? await startNatsContainer() : await startNatsServer({ dataDir: dataDir() })
      stops.push(() => ('container' in nats ? nats.container.stop() : nats.process.stop()))
      natsUrl = nats.url
      description.push(`NATS: ${useContainers ? 'testcontainers' : 'local binary'}, ${nats.version}`)
    }
    if (!mongoUrl) {
      const mongo = useContainers ? await startMongoContainer() : await startFerretDb({ dataDir: dataDir() })
      stops.push(() => ('container' in mongo ? mongo.container.stop() : mongo.process.stop()))
      mongoUrl = mongo.url
      description.push(`database: ${useContainers ? 'testcontainers' : 'local binary'}, ${mongo.version}`)
    }
    return { natsUrl, mongoUrl, description, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
