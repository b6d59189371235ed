import { ConfigError } from './errors.ts'
import { TenantsFileError } from './tenants/tenants-file.ts'

/** Runs a service's start-up; a failure prints one clear line (no stack for bad config) and exits 1. */
export function runMain(serviceName: string, start: () => Promise<void>): void {
  start().catch((error: unknown) => {
    const expected = error instanceof ConfigError || error instanceof TenantsFileError
    const detail = expected ? (error as Error).message : ((error as Error).stack ?? String(error))
    process.stderr.write(`${serviceName}: cannot start: ${detail}\n`)
    process.exit(1)
  })
}
