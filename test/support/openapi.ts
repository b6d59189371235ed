import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'

/** The kit's own routes: declared by createHttpApp before any hook a test can add. */
const KIT_ROUTES = ['GET /healthz', 'GET /readyz', 'GET /metrics']

/** Where the document and the reference page live; not documented themselves. */
const DOC_ROUTE = /^(\/openapi\.json|\/docs(\/.*)?)$/

interface OpenApiDocument {
  openapi: string
  info: { title: string }
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>
  components?: Record<string, unknown>
}

/**
 * Every route the app registers from now on, as `METHOD /path` (Fastify's HEAD twins aside).
 * Add it before the app is ready: the service's route plugins load then.
 */
export function recordRoutes(app: FastifyInstance): string[] {
  const routes: string[] = []
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD' && !DOC_ROUTE.test(route.url)) routes.push(`${method} ${route.url}`)
    }
  })
  return routes
}

/** Fetches `/openapi.json`, checks it is a valid OpenAPI 3.1 document and returns it. */
export async function fetchValidDocument(app: FastifyInstance): Promise<OpenApiDocument> {
  const response = await app.inject({ method: 'GET', url: '/openapi.json' })
  expect(response.statusCode).toBe(200)
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  const document = response.json() as OpenApiDocument
  const validator = new Validator()
  const result = await validator.validate(structuredClone(document) as unknown as Record<string, unknown>)
  expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([])
  expect(result.valid).toBe(true)
  expect(validator.version).toBe('3.1')
  return document
}

/** The operations of the document as `METHOD /path`, with Fastify's `:param` for `{param}`. */
export function documentedRoutes(document: OpenApiDocument): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
  )
}

/**
 * The app's document is valid, carries its title, and lists exactly the routes it registers:
 * `registered` (from recordRoutes) plus whichever kit routes this app serves.
 */
export async function expectEveryRouteDocumented(
  app: FastifyInstance,
  registered: string[],
  title: string,
): Promise<OpenApiDocument> {
  const document = await fetchValidDocument(app)
  expect(document.info.title).toBe(title)
  const kit = KIT_ROUTES.filter((route) => {
    const [method, url] = route.split(' ') as ['GET', string]
    return app.hasRoute({ method, url })
  })
  expect(kit).toContain('GET /healthz')
  expect(documentedRoutes(document).sort()).toEqual([...registered, ...kit].sort())
  return document
}

/** Checks real answers against the schemas the document states for them (JSON Schema 2020-12). */
export function createConformance(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addSchema(document, 'openapi.json')
  const pointer = (...parts: string[]) =>
    parts.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')

  return function expectConforms(method: string, route: string, response: LightMyRequestResponse) {
    const path = route.replace(/:(\w+)/g, '{$1}')
    const operation = document.paths[path]?.[method.toLowerCase()]
    expect(operation, `${method} ${path} is not in the document`).toBeDefined()
    const status = String(response.statusCode)
    const documented = operation?.responses[status]
    expect(documented, `${method} ${path} answered ${status}, which the document does not list`).toBeDefined()
    if (!documented?.content?.['application/json']) return
    const validate = ajv.compile({
      $ref: `openapi.json#/${pointer('paths', path, method.toLowerCase(), 'responses', status, 'content', 'application/json', 'schema')}`,
    })
    const body: unknown = response.json()
    expect(validate(body), `${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}\n${response.body}`).toBe(
      true,
    )
  }
}
