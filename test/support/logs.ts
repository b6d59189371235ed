import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLogger, type Logger } from '@calsync/service-kit'
import { pino } from 'pino'

/** Where every run keeps its logs: `run-<pid of the run>` below it, one directory per run. */
export const LOGS_ROOT = fileURLToPath(new URL('../../test-artifacts/logs', import.meta.url))
export const LOG_DIR_VARIABLE = 'CALSYNC_TEST_LOG_DIR'

/**
 * This run's log directory, named by the global setup before the workers fork, so that two runs
 * at once (a check:deep beside npm test) neither clear nor scan each other's logs.
 */
export const LOG_DIR = process.env[LOG_DIR_VARIABLE] ?? join(LOGS_ROOT, `run-${process.pid}`)

/**
 * A debug-level logger writing to this run's directory under test-artifacts/logs/, so the whole suite's log output can be
 * searched for secrets when the run ends (see global-setup.ts).
 */
export function fileLogger(name: string): Logger {
  mkdirSync(LOG_DIR, { recursive: true })
  const destination = pino.destination({ dest: join(LOG_DIR, `${name}-${process.pid}.log`), sync: true, mkdir: true })
  return createLogger({ name, level: 'trace', destination })
}

/** The log of one instance of a service: the first writes as with one instance, the others say which they are. */
export function instanceLogger(name: string, instance: number): Logger {
  return instance === 0 ? fileLogger(name) : fileLogger(name).child({ instance: instance + 1 })
}
