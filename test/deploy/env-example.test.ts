// .env.example is the one place an operator reads about settings: it must parse the same way for
// every dotenv reader, and name every variable the services read.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseEnvFile } from './support/env-file.ts'

const root = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

/** The modules that read the environment: each service's config, the shared config, the sandbox and the image's entry. */
const CONFIG_READERS = [
  ...readdirSync(new URL('services/', root)).map((service) => `services/${service}/src/config.ts`),
  'packages/service-kit/src/config.ts',
  'packages/calcom-sandbox/src/main.ts',
  'scripts/run-service.ts',
  'scripts/healthcheck.ts',
]

/** `read.durations('NAME', …)`, `portVariable: 'NAME'`, `env.NAME`: quoted or dotted upper-case names. */
function variablesReadBy(source: string): string[] {
  const quoted = [...source.matchAll(/'([A-Z][A-Z0-9]*_[A-Z0-9_]+|HOST)'/g)].map((match) => match[1] as string)
  const dotted = [...source.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)].map((match) => match[1] as string)
  return [...quoted, ...dotted]
}

describe('.env.example', () => {
  const envExample = parseEnvFile(read('.env.example'))

  it('documents every variable the services read', () => {
    const names = CONFIG_READERS.flatMap((path) => variablesReadBy(read(path)))
    expect(names).toEqual(expect.arrayContaining(['NATS_URL', 'CALSYNC_SYNC_BACKOFF', 'CALCOM_SANDBOX_WEBHOOK_URL']))
    expect([...new Set(names)].filter((name) => !envExample.documented.has(name)).sort()).toEqual([])
  })

  it('holds no secret but the demo ones', () => {
    for (const [name, value] of Object.entries(envExample.values)) {
      if (/TOKEN|SECRET|KEY|PASSWORD/.test(name)) expect(value, name).toMatch(/^$|demo/)
    }
  })

  it('is refused when a line would parse differently between dotenv readers', () => {
    expect(() => parseEnvFile('LOG_LEVEL="info"\n')).toThrow(/line 1/)
    expect(() => parseEnvFile('LOG_LEVEL=info # the default\n')).toThrow(/line 1/)
    expect(() => parseEnvFile('LOG_LEVEL=info\nLOG_LEVEL=debug\n')).toThrow(/set twice/)
  })
})
