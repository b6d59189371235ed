// docker-compose.yml, checked without Docker: the Compose Specification schema, then the rules
// the stack depends on (healthchecks, volumes, pinned images, start order, ports, documented env).
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  CALSYNC_SERVICES,
  type ComposeFile,
  dependencyProblems,
  healthcheckProblems,
  imageProblems,
  isBuiltHere,
  portProblems,
  restartProblems,
  specProblems,
  volumeProblems,
} from './support/compose-checks.ts'
import { parseEnvFile } from './support/env-file.ts'
import { interpolate } from './support/interpolation.ts'
import { parseYaml } from './support/yaml.ts'

const root = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')
const composeText = read('docker-compose.yml')
const envExample = parseEnvFile(read('.env.example'))

/** The file as `docker compose up` sees it with this environment; none is a fresh checkout without .env. */
function load(text: string, env: Record<string, string> = {}) {
  const { value, variables } = interpolate(parseYaml(text), env)
  return { document: value, compose: value as ComposeFile, variables }
}

function undocumented(variables: Set<string>): string[] {
  return [...variables].filter((name) => !envExample.documented.has(name))
}

const environmentOf = (compose: ComposeFile, service: string) =>
  compose.services[service]?.environment as Record<string, string> | undefined

describe('docker-compose.yml', () => {
  const { document, compose, variables } = load(composeText)

  it('is valid against the Compose Specification schema, with and without the .env.example values', () => {
    expect(specProblems(document)).toEqual([])
    expect(specProblems(load(composeText, envExample.values).document)).toEqual([])
  })

  it('is checked against the schema version its note names, unchanged', () => {
    const note = read('test/deploy/compose-spec.schema.md')
    const digest = createHash('sha256').update(read('test/deploy/compose-spec.schema.json')).digest('hex')
    expect(note).toContain(`sha256: ${digest}`)
    expect(JSON.parse(read('test/deploy/compose-spec.schema.json')).$schema).toBe(
      'https://json-schema.org/draft/2020-12/schema',
    )
  })

  it('gives every service a healthcheck', () => {
    expect(healthcheckProblems(compose)).toEqual([])
    expect(Object.keys(compose.services).sort()).toEqual(
      ['calcom-sandbox', 'calcom-sync', 'appointments', 'jaeger', 'mongo', 'nats', 'review', 'webhook-gateway'].sort(),
    )
  })

  it('keeps the NATS and MongoDB data on declared named volumes', () => {
    expect(volumeProblems(compose)).toEqual([])
  })

  it('runs official images pinned to a version, and calsync built from the repository Dockerfile', () => {
    expect(imageProblems(compose)).toEqual([])
    const built = Object.entries(compose.services).filter(([, service]) => isBuiltHere(service))
    expect(built.map(([name]) => name).sort()).toEqual(Object.keys(CALSYNC_SERVICES).sort())
  })

  it('runs the NATS version the test suite runs, with JetStream storing on its volume', () => {
    const versions = JSON.parse(read('tools/versions.json')) as { natsServer: string }
    const nats = compose.services.nats
    expect(nats?.image).toBe(`nats:${versions.natsServer.replace(/^v/, '')}-alpine`)
    expect(nats?.command).toEqual(expect.arrayContaining(['--jetstream', '--store_dir=/data']))
  })

  it('starts each calsync service once the servers it needs are healthy', () => {
    expect(dependencyProblems(compose)).toEqual([])
  })

  it('restarts every service after a failure (DESIGN §4.1)', () => {
    expect(restartProblems(compose)).toEqual([])
  })

  it('publishes the DESIGN §4.1 ports, each movable on the host by its variable only', () => {
    expect(portProblems(compose)).toEqual([])
    const moved = load(composeText, { GATEWAY_PORT: '18080', REVIEW_PORT: '18083' }).compose
    expect(moved.services['webhook-gateway']?.ports).toEqual(['127.0.0.1:18080:8080'])
    expect(moved.services.review?.ports).toEqual(['127.0.0.1:18083:8083'])
    expect(environmentOf(moved, 'webhook-gateway')?.GATEWAY_PORT).toBe('8080')
  })

  it('tells each container which service it runs, as the image and its healthcheck expect', () => {
    for (const name of Object.keys(CALSYNC_SERVICES)) {
      expect(environmentOf(compose, name)?.CALSYNC_SERVICE, name).toBe(name)
      expect(compose.services[name]?.healthcheck?.test).toEqual(['CMD', 'node', 'scripts/healthcheck.ts'])
    }
  })

  it('mounts the tenants file read-only where the services look for it, the demo file by default', () => {
    for (const name of Object.keys(CALSYNC_SERVICES)) {
      const mount = compose.services[name]?.volumes?.find((volume) => typeof volume === 'object')
      expect(mount, name).toEqual({
        type: 'bind',
        source: './config/demo-tenants.yaml',
        target: '/etc/calsync/tenants.yaml',
        read_only: true,
      })
      expect(environmentOf(compose, name)?.CALSYNC_TENANTS).toBe('/etc/calsync/tenants.yaml')
    }
    expect(existsSync(new URL('config/demo-tenants.yaml', root))).toBe(true)
  })

  it('uses the sandbox as Cal.com unless CALCOM_API_URL names one, and sends its webhooks to the gateway', () => {
    expect(environmentOf(compose, 'calcom-sync')?.CALCOM_API_URL).toBe('http://calcom-sandbox:8090')
    const real = load(composeText, { CALCOM_API_URL: 'https://api.cal.com' }).compose
    expect(environmentOf(real, 'calcom-sync')?.CALCOM_API_URL).toBe('https://api.cal.com')
    expect(environmentOf(compose, 'calcom-sandbox')?.CALCOM_SANDBOX_WEBHOOK_URL).toBe(
      'http://webhook-gateway:8080/webhooks/calcom/{tenantId}',
    )
  })

  it('sends traces to Jaeger and gives the review service an admin token', () => {
    for (const name of ['webhook-gateway', 'appointments', 'calcom-sync', 'review']) {
      expect(environmentOf(compose, name)?.OTEL_EXPORTER_OTLP_ENDPOINT, name).toBe('http://jaeger:4318')
    }
    expect(compose.services.jaeger?.ports).toEqual(['127.0.0.1:16686:16686', '127.0.0.1:4318:4318'])
    expect(environmentOf(compose, 'review')?.CALSYNC_ADMIN_TOKEN).toBe(envExample.values.CALSYNC_ADMIN_TOKEN)
  })

  it('uses only variables that .env.example documents, whose values there are the defaults', () => {
    expect(undocumented(variables)).toEqual([])
    // An unchanged copy of .env.example must change nothing.
    expect(load(composeText, envExample.values).document).toEqual(document)
  })
})

describe('the docker-compose.yml checks catch a broken file', () => {
  /** The real file with some keys of one service replaced. */
  const changed = (name: string, patch: Record<string, unknown>): ComposeFile => {
    const copy = structuredClone(load(composeText).compose)
    Object.assign(copy.services[name] as object, patch)
    return copy
  }

  it('a key the specification does not know, or a value of the wrong type', () => {
    expect(specProblems(changed('nats', { restart_policy: 'always' }))).toEqual([
      '/services/nats: must NOT have unevaluated properties (restart_policy)',
    ])
    expect(specProblems(changed('mongo', { restart: 3 }))).toEqual(['/services/mongo/restart: must be string'])
  })

  it('a service without a healthcheck', () => {
    expect(healthcheckProblems(changed('mongo', { healthcheck: undefined }))).toEqual(['mongo has no healthcheck'])
  })

  it('an unpinned or unofficial image', () => {
    expect(imageProblems(changed('mongo', { image: 'mongo:latest' }))).toEqual([
      'mongo uses mongo:latest, not pinned to a version',
    ])
    expect(imageProblems(changed('nats', { image: 'bitnami/nats:2.15.2' }))).toEqual([
      'nats uses bitnami/nats:2.15.2, not an official image',
    ])
  })

  it('database data on a host folder', () => {
    expect(volumeProblems(changed('mongo', { volumes: ['./data:/data/db'] }))).toEqual([
      'mongo keeps /data/db on a host folder, not a named volume',
    ])
  })

  it('a service that does not wait for healthy servers', () => {
    expect(dependencyProblems(changed('review', { depends_on: { nats: { condition: 'service_started' } } }))).toEqual([
      'review must wait for nats with condition service_healthy, has service_started',
      'review must wait for mongo with condition service_healthy, has none',
    ])
  })

  it('a port other than DESIGN §4.1', () => {
    expect(portProblems(changed('appointments', { ports: ['9081:8081'] }))).toEqual([
      'appointments must publish 8081:8081, publishes [{"published":9081,"target":8081}]',
    ])
  })

  it('a variable .env.example does not document', () => {
    const text = `${composeText}\nx-extra: \${CALSYNC_UNDOCUMENTED_SETTING:-1}\n`
    expect(undocumented(load(text).variables)).toEqual(['CALSYNC_UNDOCUMENTED_SETTING'])
  })
})
