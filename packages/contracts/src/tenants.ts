import Type from 'typebox'
import { TokenOrigin } from './origin.ts'

export const TENANT_ID_PATTERN = '^[a-z0-9-]{1,64}$'

export const EventTypeMapping = Type.Object(
  {
    id: Type.Integer({ minimum: 1 }),
    resource: Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$' }),
    lengthMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
  },
  { additionalProperties: false },
)
export type EventTypeMapping = Type.Static<typeof EventTypeMapping>

const CalcomSettings = Type.Object(
  {
    apiKey: Type.String({ minLength: 1 }),
    webhookSecret: Type.String({ minLength: 1 }),
    eventTypes: Type.Array(EventTypeMapping, { minItems: 1 }),
  },
  { additionalProperties: false },
)

/** One tenant as written in the tenants file (DESIGN §4.2), after `${VAR}` expansion. */
export const TenantFileEntry = Type.Object(
  {
    id: Type.String({ pattern: TENANT_ID_PATTERN }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    calcom: CalcomSettings,
    tokens: Type.Array(
      Type.Object({ token: Type.String({ minLength: 16 }), origin: TokenOrigin }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
)
export type TenantFileEntry = Type.Static<typeof TenantFileEntry>

export const TenantsFile = Type.Object(
  {
    /**
     * Deployment generation of the file (default 0): an apply never changes or removes a tenant a
     * file of a newer generation wrote, and removes missing tenants only an older one wrote.
     */
    generation: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    tenants: Type.Array(TenantFileEntry, { minItems: 1 }),
  },
  { additionalProperties: false },
)
export type TenantsFile = Type.Static<typeof TenantsFile>

/**
 * A tenant as the tenants file yields it and the registry serves it: tokens only as SHA-256 hex
 * digests. The registry bucket holds these digests and the Cal.com secrets sealed, and finds
 * tokens by a keyed digest (service-kit `stored-tenant.ts`).
 */
export const TenantRecord = Type.Object({
  id: Type.String({ pattern: TENANT_ID_PATTERN }),
  name: Type.String(),
  calcom: CalcomSettings,
  tokens: Type.Array(Type.Object({ sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }), origin: TokenOrigin })),
})
export type TenantRecord = Type.Static<typeof TenantRecord>
