import { ERROR_CODES } from '@calsync/contracts'
import { fastifySwagger, type SwaggerTransform } from '@fastify/swagger'
import { type FastifySwaggerUiOptions, fastifySwaggerUi } from '@fastify/swagger-ui'
import type { FastifyInstance, FastifyPluginAsync, FastifySchema } from 'fastify'
import Type from 'typebox'

/** What a service says about itself at the top of its OpenAPI document. */
export interface ApiDescription {
  title: string
  version: string
  description: string
  /** Who issues this API's bearer tokens; absent for a service without authenticated routes. */
  bearerAuth?: string
}

export const OPENAPI_PATH = '/openapi.json'
export const API_REFERENCE_PATH = '/docs'
export const ERROR_BODY_SCHEMA_ID = 'ErrorBody'
const BEARER_AUTH = 'bearerAuth'

/** A route's `config.swaggerTransform`: what the document shows for it instead of its own schema. */
export type RouteDocTransform = SwaggerTransform

/** Put on a route's schema: it needs `Authorization: Bearer <token>`. */
export const BEARER_SECURITY = [{ [BEARER_AUTH]: [] }] as const

const ErrorBody = Type.Object(
  {
    error: Type.Enum(Object.values(ERROR_CODES), { description: 'A stable code: match on it, never on the message.' }),
    message: Type.String({ description: 'For people; never echoes a secret.' }),
  },
  { $id: ERROR_BODY_SCHEMA_ID, description: 'Every error answer of every calsync API.' },
)

/** A documented error answer of a route: the shared `{ error, message }` body, and when it is given. */
export function errorResponse(description: string) {
  return { description, $ref: `${ERROR_BODY_SCHEMA_ID}#` }
}

/** What Fastify itself refuses before a handler with a JSON body runs. */
export function jsonBodyErrors() {
  return {
    400: errorResponse('The body is not valid JSON or does not match the schema (`bad_request`).'),
    413: errorResponse('The body is over the size limit (`payload_too_large`).'),
    415: errorResponse('The body is not `application/json` (`unsupported_media_type`).'),
  }
}

// The probes and the scrape are declared by createHttpApp, before any service route; their
// documentation lives here so http-app.ts stays about serving them.
const KIT_ROUTES: Record<string, FastifySchema> = {
  '/healthz': {
    summary: 'Liveness',
    tags: ['operations'],
    response: {
      200: Type.Object({ status: Type.Literal('ok') }, { description: 'The process is alive.' }),
    },
  },
  '/readyz': {
    summary: 'Readiness: NATS, the database and the consumers are up',
    tags: ['operations'],
    response: {
      200: readiness('Every check holds.', 'ready'),
      503: readiness('At least one check fails.', 'not_ready'),
    },
  },
  '/metrics': {
    summary: 'Prometheus metrics',
    tags: ['operations'],
    produces: ['text/plain'],
    response: {
      200: Type.String({ description: 'The Prometheus text exposition format.' }),
      401: errorResponse('The service is configured with a metrics token and it was not given (`unauthorized`).'),
    },
  },
}

function readiness(description: string, status: string) {
  return Type.Object(
    { status: Type.Literal(status), checks: Type.Record(Type.String(), Type.Boolean()) },
    { description },
  )
}

const documentKitRoutes: SwaggerTransform = ({ schema, url }) => ({ schema: KIT_ROUTES[url] ?? schema, url })

// The reference page's own assets come from this service: no CDN, nothing inline.
const REFERENCE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * `GET /openapi.json` (OpenAPI 3.1, built from the routes' own schemas) and the reference page
 * at `/docs`. Call it on a new app before any route: the document lists the routes declared after.
 */
export function registerOpenApi(app: FastifyInstance, api: ApiDescription): void {
  // Called directly rather than through register(), which would only start after the probes
  // below in createHttpApp were declared, so they would be missing from the document.
  fastifySwagger(
    app,
    {
      openapi: {
        openapi: '3.1.0',
        info: { title: api.title, version: api.version, description: api.description },
        components: api.bearerAuth
          ? { securitySchemes: { [BEARER_AUTH]: { type: 'http', scheme: 'bearer', description: api.bearerAuth } } }
          : {},
      },
      // Shared schemas become components under their own $id, not `def-0`.
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
      },
      transform: documentKitRoutes,
    },
    (error) => {
      if (error) throw error
    },
  )
  app.addSchema(ErrorBody)
  // Response schemas document the API and do nothing else: Fastify's default serializer would
  // drop every property a schema does not name, so a schema slightly behind a handler would
  // silently change answers. Routes answer exactly what their handlers return, as before.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))

  app.register(async (docs) => {
    docs.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger())
    // Called directly as well: registered, it would ask for @fastify/swagger among the
    // registered plugins, and that one was not registered but called. The function is async
    // (its typings say callback: a `done` passed to it would never be called).
    await (fastifySwaggerUi as unknown as FastifyPluginAsync<FastifySwaggerUiOptions>)(docs, {
      routePrefix: API_REFERENCE_PATH,
      staticCSP: REFERENCE_CSP,
      theme: { title: `${api.title} — API reference` },
      uiConfig: { validatorUrl: null, deepLinking: true },
    })
  })
}
