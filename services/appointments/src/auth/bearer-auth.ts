import { ERROR_CODES, type TokenOrigin } from '@calsync/contracts'
import { AppError, sha256Hex, type TenantRegistry } from '@calsync/service-kit'
import type { FastifyRequest } from 'fastify'
import type { Initiator } from '../appointments/appointment.ts'

export interface Identity {
  tenantId: string
  origin: TokenOrigin
  initiator: Initiator
}

/** Resolves the bearer token to its tenant and origin; the token alone decides both (I6). */
export function createBearerAuth(tenants: TenantRegistry) {
  return function authenticate(request: FastifyRequest): Identity {
    const header = request.headers.authorization
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    if (!match?.[1]) {
      throw new AppError(ERROR_CODES.unauthorized, 'missing bearer token (Authorization: Bearer <token>)', {
        statusCode: 401,
      })
    }
    const identity = tenants.identify(match[1])
    if (!identity) throw new AppError(ERROR_CODES.unauthorized, 'invalid bearer token', { statusCode: 401 })
    return {
      tenantId: identity.tenant.id,
      origin: identity.origin,
      // A digest prefix identifies which token acted without storing the token.
      initiator: { origin: identity.origin, via: `token:${sha256Hex(match[1]).slice(0, 12)}` },
    }
  }
}

export type Authenticate = ReturnType<typeof createBearerAuth>
