import { startTestInfra } from '@calsync/local-infra'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    natsUrl: string
    mongoUrl: string
  }
}

/** One NATS and one database for the whole run; tests isolate by namespace and database name. */
export default async function setup(project: TestProject) {
  const infra = await startTestInfra()
  for (const line of infra.description) process.stdout.write(`[test infra] ${line}\n`)
  project.provide('natsUrl', infra.natsUrl)
  project.provide('mongoUrl', infra.mongoUrl)
  // Vitest runs teardown on normal exit and on Ctrl-C; the tether covers harder deaths.
  return () => infra.stop()
}
