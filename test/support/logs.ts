import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLogger, type Logger } from '@calsync/service-kit'
import { pino } from 'pino'

export const LOG_DIR = fileURLToPath(new URL('../../test-artifacts/logs', import.meta.url))

/**
 * A debug-level logger writing to test-artifacts/logs/, so the whole suite's log output can be
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
