// Checks of a parsed, interpolated docker-compose.yml. Each returns the problems it finds (empty
// when the file is right), so the tests can show them all at once and prove on broken copies
// that the checks bite.
import { readFileSync } from 'node:fs'
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js'

type Json = Record<string, unknown>

export interface ComposeService {
  image?: string
  build?: string | { context?: string; dockerfile?: string }
  command?: string | string[]
  environment?: Record<string, string | number | boolean | null> | string[]
  healthcheck?: { test?: string | string[]; disable?: boolean }
  depends_on?: string[] | Record<string, { condition?: string; required?: boolean }>
  ports?: Array<string | number | { target: number; published?: string | number; host_ip?: string }>
  volumes?: Array<string | { type?: string; source?: string; target: string }>
  restart?: string
}

export interface ComposeFile {
  services: Record<string, ComposeService>
  volumes?: Record<string, unknown>
}

/** DESIGN §4.1: the calsync processes, their ports, and the servers each one needs to start. */
export const CALSYNC_SERVICES: Record<string, { port: number; portVariable: string; needs: string[] }> = {
  // The gateway is stateless: NATS only.
  'webhook-gateway': { port: 8080, portVariable: 'GATEWAY_PORT', needs: ['nats'] },
  appointments: { port: 8081, portVariable: 'APPOINTMENTS_PORT', needs: ['nats', 'mongo'] },
  'calcom-sync': { port: 8082, portVariable: 'CALCOM_SYNC_PORT', needs: ['nats', 'mongo'] },
  review: { port: 8083, portVariable: 'REVIEW_PORT', needs: ['nats', 'mongo'] },
  'calcom-sandbox': { port: 8090, portVariable: 'CALCOM_SANDBOX_PORT', needs: [] },
}

/** Images the stack may pull, each pinned to a concrete version (a variant suffix is fine). */
const OFFICIAL_IMAGES = ['nats', 'mongo', 'jaegertracing/jaeger']
const PINNED_TAG = /^\d+\.\d+\.\d+(-[a-z0-9.]+)?$/

/** Where each server keeps its data, which must be a named volume to survive `docker compose down`. */
const DATA_DIRS: Record<string, string> = { nats: '/data', mongo: '/data/db' }

const schema = JSON.parse(readFileSync(new URL('../compose-spec.schema.json', import.meta.url), 'utf8')) as Json
// The schema is draft 2020-12 (its $schema), hence Ajv2020. It uses no `format`s, so ajv-formats has
// nothing to add. Strict mode stays on except its lint of schema style (union and implied types),
// which the upstream schema uses throughout and which does not change what validates.
const validateSpec = new Ajv2020({ allErrors: true, allowUnionTypes: true, strictTypes: false }).compile(schema)

function describeError(error: ErrorObject): string {
  const where = error.instancePath || '/'
  const property = error.params.additionalProperty ?? error.params.unevaluatedProperty
  const extra = property === undefined ? '' : ` (${String(property)})`
  return `${where}: ${error.message ?? error.keyword}${extra}`
}

export function specProblems(document: unknown): string[] {
  if (validateSpec(document)) return []
  return (validateSpec.errors ?? []).map(describeError)
}

export function isBuiltHere(service: ComposeService): boolean {
  return service.build !== undefined
}

export function healthcheckProblems(compose: ComposeFile): string[] {
  return Object.entries(compose.services).flatMap(([name, service]) => {
    const test = service.healthcheck?.test
    const none = test === undefined || (Array.isArray(test) ? test[0] === 'NONE' || test.length < 2 : test === '')
    return none || service.healthcheck?.disable ? [`${name} has no healthcheck`] : []
  })
}

export function imageProblems(compose: ComposeFile): string[] {
  return Object.entries(compose.services).flatMap(([name, service]) => {
    if (isBuiltHere(service)) {
      const build = typeof service.build === 'string' ? { context: service.build } : (service.build ?? {})
      const fromRepo = build.context === '.' && (build.dockerfile ?? 'Dockerfile') === 'Dockerfile'
      return fromRepo ? [] : [`${name} is built from ${JSON.stringify(build)}, not the repository's Dockerfile`]
    }
    const image = service.image ?? ''
    const digest = image.includes('@sha256:')
    const [repository, tag = ''] = image.split('@')[0]?.split(':') ?? []
    if (!OFFICIAL_IMAGES.includes(repository ?? '')) return [`${name} uses ${image}, not an official image`]
    return digest || PINNED_TAG.test(tag) ? [] : [`${name} uses ${image}, not pinned to a version`]
  })
}

function volumeTargets(service: ComposeService): Map<string, string> {
  const targets = new Map<string, string>()
  for (const volume of service.volumes ?? []) {
    if (typeof volume === 'string') {
      const [source, target] = volume.split(':')
      if (source && target) targets.set(target, source)
    } else if (volume.type === undefined || volume.type === 'volume') {
      if (volume.source) targets.set(volume.target, volume.source)
    }
  }
  return targets
}

export function volumeProblems(compose: ComposeFile): string[] {
  return Object.entries(DATA_DIRS).flatMap(([name, dataDir]) => {
    const service = compose.services[name]
    if (!service) return [`there is no ${name} service`]
    const source = volumeTargets(service).get(dataDir)
    if (!source) return [`${name} keeps ${dataDir} on no volume`]
    if (source.startsWith('.') || source.startsWith('/'))
      return [`${name} keeps ${dataDir} on a host folder, not a named volume`]
    return compose.volumes && source in compose.volumes
      ? []
      : [`${name} mounts volume ${source}, which is not declared`]
  })
}

function dependencies(service: ComposeService): Record<string, { condition?: string }> {
  const dependsOn = service.depends_on ?? {}
  return Array.isArray(dependsOn) ? Object.fromEntries(dependsOn.map((name) => [name, {}])) : dependsOn
}

export function dependencyProblems(compose: ComposeFile): string[] {
  const problems = Object.entries(compose.services).flatMap(([name, service]) =>
    Object.keys(dependencies(service))
      .filter((dependency) => !compose.services[dependency])
      .map((dependency) => `${name} depends on ${dependency}, which is not a service`),
  )
  for (const [name, { needs }] of Object.entries(CALSYNC_SERVICES)) {
    const service = compose.services[name]
    if (!service) {
      problems.push(`there is no ${name} service`)
      continue
    }
    const declared = dependencies(service)
    for (const server of needs) {
      const condition = declared[server]?.condition
      if (condition !== 'service_healthy') {
        problems.push(`${name} must wait for ${server} with condition service_healthy, has ${condition ?? 'none'}`)
      }
    }
  }
  return problems
}

function publishedPorts(service: ComposeService): Array<{ published: number; target: number }> {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return { published: Number(port.published), target: Number(port.target) }
    const parts = String(port).split(':')
    const target = Number(parts.at(-1)?.split('/')[0])
    return { published: parts.length > 1 ? Number(parts.at(-2)) : Number.NaN, target }
  })
}

/** Every calsync process listens on its DESIGN port inside the container, published as the same. */
export function portProblems(compose: ComposeFile): string[] {
  return Object.entries(CALSYNC_SERVICES).flatMap(([name, { port, portVariable }]) => {
    const service = compose.services[name]
    if (!service) return [`there is no ${name} service`]
    const problems: string[] = []
    const ports = publishedPorts(service)
    if (ports.length !== 1 || ports[0]?.published !== port || ports[0]?.target !== port) {
      problems.push(`${name} must publish ${port}:${port}, publishes ${JSON.stringify(ports)}`)
    }
    const environment = service.environment
    const listens = environment && !Array.isArray(environment) ? environment[portVariable] : undefined
    if (String(listens) !== String(port)) problems.push(`${name} must set ${portVariable}=${port}, sets ${listens}`)
    return problems
  })
}

export function restartProblems(compose: ComposeFile): string[] {
  return Object.entries(compose.services)
    .filter(([, service]) => !/^(always|unless-stopped|on-failure(:\d+)?)$/.test(service.restart ?? ''))
    .map(([name, service]) => `${name} does not restart on failure (restart: ${service.restart ?? 'no'})`)
}
