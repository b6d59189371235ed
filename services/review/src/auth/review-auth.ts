import { createHash, timingSafeEqual } from 'node:crypto'
import { sha256Hex, type TenantRegistry } from '@calsync/service-kit'
import type { FastifyRequest } from 'fastify'
import { unauthorized } from '../errors.ts'

/** Who is asking: one tenant, or the operator (`tenantId: null`, every tenant). */
export interface Viewer {
  tenantId: string | null
  /** For logs and the re-drive events; a digest prefix names the token without revealing it. */
  requestedBy: string
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest()

/**
 * Resolves `Authorization: Bearer <token>`: the operator token (compared in constant time on
 * equal-length digests, so neither content nor length leaks) or a tenant token of the registry.
 */
export function createReviewAuth(deps: { tenants: TenantRegistry; adminToken: string | undefined }) {
  const adminDigest = deps.adminToken ? digest(deps.adminToken) : undefined
  // The API checks the token in an onRequest hook, before body validation, and routes ask again.
  const known = new WeakMap<FastifyRequest, Viewer>()

  function identify(request: FastifyRequest): Viewer {
    const header = request.headers.authorization
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    const token = match?.[1]
    if (!token) throw unauthorized('missing bearer token (Authorization: Bearer <token>)')
    if (adminDigest && timingSafeEqual(digest(token), adminDigest)) {
      return { tenantId: null, requestedBy: 'review:admin' }
    }
    const identity = deps.tenants.identify(token)
    if (!identity) throw unauthorized('invalid bearer token')
    return {
      tenantId: identity.tenant.id,
      requestedBy: `review:${identity.tenant.id}:token:${sha256Hex(token).slice(0, 12)}`,
    }
  }

  return function authenticate(request: FastifyRequest): Viewer {
    let viewer = known.get(request)
    if (!viewer) {
      viewer = identify(request)
      known.set(request, viewer)
    }
    return viewer
  }
}

export type Authenticate = ReturnType<typeof createReviewAuth>
