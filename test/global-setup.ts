import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PORT_CLAIMS_VARIABLE, startTestInfra } from '@calsync/local-infra'
import type { TestProject } from 'vitest/node'
import { testInstances } from './support/instances.ts'
import { LOG_DIR, LOG_DIR_VARIABLE, LOGS_ROOT } from './support/logs.ts'
import { TEST_SECRETS } from './support/tenants.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    natsUrl: string
    mongoUrl: string
  }
}

/** A directory's entries; none when it does not exist (nothing was logged yet). */
function entriesOf(directory: string): string[] {
  try {
    return readdirSync(directory)
  } catch {
    return []
  }
}

/** Fails the run if any log line written by the suite holds a test secret (I7). */
function assertNoSecretsLogged(): void {
  const files = entriesOf(LOG_DIR)
  const leaks: string[] = []
  for (const file of files) {
    const text = readFileSync(join(LOG_DIR, file), 'utf8')
    for (const [name, secret] of Object.entries(TEST_SECRETS)) {
      if (text.includes(secret)) leaks.push(`${name} in ${file}`)
    }
  }
  const lines = files.reduce((sum, file) => sum + readFileSync(join(LOG_DIR, file), 'utf8').split('\n').length - 1, 0)
  if (leaks.length > 0) throw new Error(`secrets found in test logs: ${leaks.join(', ')}`)
  process.stdout.write(`[test infra] no secret in ${lines} log lines of ${files.length} service logs\n`)
}

/** Removes the logs of runs that have ended (their process is gone); a run still going keeps its own. */
function clearFinishedRunLogs(): void {
  for (const entry of entriesOf(LOGS_ROOT)) {
    const pid = Number(/^run-(\d+)$/.exec(entry)?.[1] ?? Number.NaN)
    if (Number.isInteger(pid) && isAlive(pid)) continue
    rmSync(join(LOGS_ROOT, entry), { recursive: true, force: true })
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** One NATS and one database for the whole run; tests isolate by namespace and database name. */
export default async function setup(project: TestProject) {
  // A wrong CALSYNC_TEST_INSTANCES fails the run here, before any server starts.
  const instances = project.vitest.projects.map(
    (each) =>
      `${each.name} ${testInstances(each.config.env?.CALSYNC_TEST_INSTANCES ?? process.env.CALSYNC_TEST_INSTANCES)}`,
  )
  process.stdout.write(`[test infra] instances of each service, by project: ${instances.join(', ')}\n`)
  clearFinishedRunLogs()
  process.env[LOG_DIR_VARIABLE] = LOG_DIR
  // Set before the servers start and the test workers fork, so every process of the run shares it.
  const portClaims = mkdtempSync(join(tmpdir(), 'calsync-ports-'))
  process.env[PORT_CLAIMS_VARIABLE] = portClaims
  const infra = await startTestInfra()
  for (const line of infra.description) process.stdout.write(`[test infra] ${line}\n`)
  project.provide('natsUrl', infra.natsUrl)
  project.provide('mongoUrl', infra.mongoUrl)
  // Vitest runs teardown on normal exit and on Ctrl-C; the tether covers harder deaths.
  return async () => {
    await infra.stop()
    rmSync(portClaims, { recursive: true, force: true })
    assertNoSecretsLogged()
  }
}
