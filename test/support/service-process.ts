import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Names } from '@calsync/contracts'
import { findFreePort, type ManagedProcess, spawnTethered, waitFor } from '@calsync/local-infra'
import { mongoUrl, natsUrl } from './infra.ts'
import { LOG_DIR } from './logs.ts'
import { TENANTS_YAML, TEST_SECRETS } from './tenants.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

export interface ServiceProcess {
  port: number
  managed: ManagedProcess
  output: () => string
  exited: Promise<number | null>
}

/** Writes the test tenants to a file, as an operator would, with secrets left to the environment. */
export function writeTenantsFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'calsync-tenants-')), 'tenants.yaml')
  writeFileSync(path, TENANTS_YAML)
  return path
}

/** Runs a service's main.ts as its own process (as `npm run service` does) against the suite's servers. */
export async function startServiceProcess(
  service: 'appointments' | 'webhook-gateway' | 'calcom-sync' | 'review',
  options: { names: Names; dbName: string; portVariable: string; env?: Record<string, string>; waitReady?: boolean },
): Promise<ServiceProcess> {
  const port = await findFreePort()
  const tenantsFile = writeTenantsFile()
  const managed = spawnTethered(service, process.execPath, [join(root, 'services', service, 'src', 'main.ts')], {
    output: 'pipe',
    env: {
      ...process.env,
      // CALSYNC_REGISTRY_KEY among them: the processes share the registry with the in-process instances.
      ...TEST_SECRETS,
      NATS_URL: natsUrl(),
      MONGO_URL: mongoUrl(),
      CALSYNC_NAMESPACE: options.names.namespace,
      CALSYNC_DB_NAME: options.dbName,
      CALSYNC_TENANTS: tenantsFile,
      LOG_LEVEL: 'debug',
      HOST: '127.0.0.1',
      [options.portVariable]: String(port),
      ...options.env,
    },
  })
  let output = ''
  managed.child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  managed.child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | null>((resolve) => managed.child.on('exit', (code) => resolve(code)))
  // Keep what the process logged for the suite-wide secret scan.
  void exited.then((code) => {
    mkdirSync(LOG_DIR, { recursive: true })
    writeFileSync(join(LOG_DIR, `${service}-process-${managed.child.pid}.log`), output)
    rmSync(dirname(tenantsFile), { recursive: true, force: true })
    // A failing exit is why the test around it fails: say so where CI shows it. (128: the tether's
    // code for a process killed by a signal, which the tests do on purpose.)
    if (code !== 0 && code !== null && code !== 128) {
      const tail = output.trim().split('\n').slice(-5).join('\n')
      process.stderr.write(`[test infra] ${service} process exited with code ${code}; its last lines:\n${tail}\n`)
    }
  })
  if (options.waitReady !== false) {
    await waitFor(
      `${service} /readyz`,
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok,
      30_000,
      managed.child,
    )
  }
  return { port, managed, output: () => output, exited }
}
