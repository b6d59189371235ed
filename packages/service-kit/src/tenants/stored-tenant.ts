// How a tenant is written to the shared registry bucket (docs/configuration.md, "Tenant registry").
// What any NATS client may read stays in clear (name, event types, generation); the Cal.com API key,
// the webhook secret and the tokens' SHA-256 digests are sealed with the registry key, and tokens are
// found by an HMAC under a key derived from it.
import {
  createSchemaCheck,
  EventTypeMapping,
  TENANT_ID_PATTERN,
  type TenantRecord,
  TenantRecord as TenantRecordSchema,
  TokenOrigin,
} from '@calsync/contracts'
import Type from 'typebox'
import type { RegistryKey } from './registry-key.ts'

/** Records without a `format` are the clear-text ones of earlier versions; this is the sealed one. */
export const STORED_FORMAT = 2

const SealedSchema = Type.Object({
  v: Type.Integer(),
  kid: Type.String(),
  iv: Type.String(),
  tag: Type.String(),
  data: Type.String(),
})

const StoredRecord = Type.Object({
  format: Type.Literal(STORED_FORMAT),
  id: Type.String({ pattern: TENANT_ID_PATTERN }),
  generation: Type.Integer({ minimum: 0 }),
  removed: Type.Optional(Type.Literal(true)),
  name: Type.Optional(Type.String()),
  eventTypes: Type.Optional(Type.Array(EventTypeMapping)),
  tokens: Type.Optional(Type.Array(Type.Object({ digest: Type.String(), origin: TokenOrigin }))),
  secrets: Type.Optional(SealedSchema),
})

const SealedSecrets = Type.Object({
  apiKey: Type.String({ minLength: 1 }),
  webhookSecret: Type.String({ minLength: 1 }),
  tokenSha256: Type.Array(Type.String({ pattern: '^[0-9a-f]{64}$' })),
})

const checkStored = createSchemaCheck(StoredRecord)
const checkSecrets = createSchemaCheck(SealedSecrets)
const checkLegacy = createSchemaCheck(TenantRecordSchema)

export interface TokenDigest {
  digest: string
  origin: TenantRecord['tokens'][number]['origin']
}

/** One registry value as this version understands it. */
export type StoredTenant =
  /** Sealed with this instance's key. */
  | { kind: 'tenant'; generation: number; tenant: TenantRecord; tokens: TokenDigest[] }
  /** Removed by an apply of `generation`; kept as a record so an older instance does not bring it back. */
  | { kind: 'removed'; generation: number }
  /** Written in clear by a version before sealing; counts as generation 0. */
  | { kind: 'legacy'; tenant: TenantRecord }
  /** This format, sealed with a key this instance does not hold (or altered). */
  | { kind: 'foreign'; generation: number; kid: string | undefined }
  | { kind: 'invalid' }

/** The file's tenant and the stored one say the same; a sealed value differs every time, so compare contents. */
export function sameTenant(a: TenantRecord, b: TenantRecord): boolean {
  const canonical = (tenant: TenantRecord) =>
    JSON.stringify([
      tenant.id,
      tenant.name,
      tenant.calcom.apiKey,
      tenant.calcom.webhookSecret,
      tenant.calcom.eventTypes.map((eventType) => [eventType.id, eventType.resource, eventType.lengthMinutes]),
      tenant.tokens.map((token) => [token.sha256, token.origin]),
    ])
  return canonical(a) === canonical(b)
}

export function encodeTenant(tenant: TenantRecord, generation: number, key: RegistryKey): string {
  const secrets = {
    apiKey: tenant.calcom.apiKey,
    webhookSecret: tenant.calcom.webhookSecret,
    tokenSha256: tenant.tokens.map((token) => token.sha256),
  }
  return JSON.stringify({
    format: STORED_FORMAT,
    id: tenant.id,
    generation,
    name: tenant.name,
    eventTypes: tenant.calcom.eventTypes,
    tokens: tenant.tokens.map((token) => ({ digest: key.tokenDigest(token.sha256), origin: token.origin })),
    secrets: key.seal(JSON.stringify(secrets), tenant.id),
  })
}

export function encodeRemoval(tenantId: string, generation: number): string {
  return JSON.stringify({ format: STORED_FORMAT, id: tenantId, generation, removed: true })
}

export function decodeTenant(tenantId: string, text: string, key: RegistryKey): StoredTenant {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { kind: 'invalid' }
  }
  const legacy = checkLegacy.check(parsed)
  if (legacy.ok && legacy.value.id === tenantId && (parsed as { format?: unknown }).format === undefined) {
    return { kind: 'legacy', tenant: legacy.value }
  }
  const stored = checkStored.check(parsed)
  if (!stored.ok || stored.value.id !== tenantId) return { kind: 'invalid' }
  const record = stored.value
  if (record.removed) return { kind: 'removed', generation: record.generation }
  const foreign = { kind: 'foreign', generation: record.generation, kid: record.secrets?.kid } as const
  if (!record.secrets || !record.name || !record.eventTypes || !record.tokens) return foreign
  const opened = key.open(record.secrets, tenantId)
  if (opened === undefined) return foreign
  let secrets: unknown
  try {
    secrets = JSON.parse(opened)
  } catch {
    return foreign
  }
  const checked = checkSecrets.check(secrets)
  if (!checked.ok || checked.value.tokenSha256.length !== record.tokens.length) return foreign
  const tokens = record.tokens
  return {
    kind: 'tenant',
    generation: record.generation,
    tokens,
    tenant: {
      id: tenantId,
      name: record.name,
      calcom: {
        apiKey: checked.value.apiKey,
        webhookSecret: checked.value.webhookSecret,
        eventTypes: record.eventTypes,
      },
      tokens: tokens.map((token, index) => ({
        sha256: checked.value.tokenSha256[index] as string,
        origin: token.origin,
      })),
    },
  }
}

/** The keyed digests a tenant's tokens are found by, for a record that does not carry them (legacy). */
export function tokenDigestsOf(tenant: TenantRecord, key: RegistryKey): TokenDigest[] {
  return tenant.tokens.map((token) => ({ digest: key.tokenDigest(token.sha256), origin: token.origin }))
}
