import type { Names, TenantRecord, TokenOrigin } from '@calsync/contracts'
import { JetStreamApiCodes, JetStreamApiError, JsHeaders, jetstream, PubHeaders } from '@nats-io/jetstream'
import { type KV, Kvm } from '@nats-io/kv'
import { headers, type NatsConnection } from '@nats-io/transport-node'
import type { Logger } from 'pino'
import { type ApplySummary, applyTenantsTo, type RevisionedStore } from './apply-tenants.ts'
import type { RegistryKey } from './registry-key.ts'
import { decodeTenant, type TokenDigest, tokenDigestsOf } from './stored-tenant.ts'
import { sha256Hex } from './tenants-file.ts'

export interface TokenIdentity {
  tenant: TenantRecord
  origin: TokenOrigin
}

/** The shared, live view of all tenants: fed by a JetStream KV bucket, so edits need no restart. */
export interface TenantRegistry {
  get(tenantId: string): TenantRecord | undefined
  all(): TenantRecord[]
  /** The tenant and origin a bearer token stands for. */
  identify(token: string): TokenIdentity | undefined
  /** The tenant that owns a Cal.com event type, if any. */
  ownerOfEventType(eventTypeId: number): TenantRecord | undefined
  stop(): Promise<void>
}

async function openBucket(nc: NatsConnection, names: Names): Promise<KV> {
  return new Kvm(nc).create(names.buckets.tenants, { history: 5 })
}

/**
 * The bucket as `applyTenantsTo` writes it. Every write rolls up the key's history, so values an
 * earlier version wrote in clear do not linger among its past revisions.
 */
function bucketStore(nc: NatsConnection, kv: KV, bucket: string): RevisionedStore {
  const js = jetstream(nc)
  return {
    async read(key) {
      const entry = await kv.get(key)
      if (!entry) return { value: undefined, revision: 0 }
      return { value: entry.operation === 'PUT' ? entry.string() : undefined, revision: entry.revision }
    },
    async write(key, value, expectedRevision) {
      const h = headers()
      h.set(PubHeaders.ExpectedLastSubjectSequenceHdr, String(expectedRevision))
      h.set(JsHeaders.RollupHdr, JsHeaders.RollupValueSubject)
      try {
        await js.publish(`$KV.${bucket}.${key}`, value, { headers: h })
        return true
      } catch (error) {
        if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence) return false
        throw error
      }
    },
    async keys() {
      const keys: string[] = []
      for await (const key of await kv.keys()) keys.push(key)
      return keys
    },
  }
}

export interface ApplyTenantsOptions {
  key: RegistryKey
  /** The tenants file's `generation` (DESIGN §4.2): records of a newer one are left alone. */
  generation?: number
}

/**
 * Writes the tenants of a file to the registry under the rules of `decideApply`: a tenant missing
 * from the file is removed only when an older generation wrote it. Idempotent, so every instance
 * may apply its file at start, old and new ones alike during a rolling deploy.
 */
export async function applyTenants(
  nc: NatsConnection,
  names: Names,
  tenants: TenantRecord[],
  options: ApplyTenantsOptions,
): Promise<ApplySummary> {
  const kv = await openBucket(nc, names)
  return applyTenantsTo(bucketStore(nc, kv, names.buckets.tenants), options.key, tenants, options.generation ?? 0)
}

export async function openTenantRegistry(options: {
  nc: NatsConnection
  names: Names
  logger: Logger
  key: RegistryKey
}): Promise<TenantRegistry> {
  const { key } = options
  const log = options.logger.child({ component: 'tenant-registry' })
  const kv = await openBucket(options.nc, options.names)
  const tenants = new Map<string, { tenant: TenantRecord; tokens: TokenDigest[] }>()
  let tokens = new Map<string, TokenIdentity>()
  let eventTypes = new Map<number, TenantRecord>()

  const reindex = () => {
    tokens = new Map()
    eventTypes = new Map()
    for (const { tenant, tokens: digests } of tenants.values()) {
      for (const token of digests) tokens.set(token.digest, { tenant, origin: token.origin })
      for (const eventType of tenant.calcom.eventTypes) {
        const owner = eventTypes.get(eventType.id)
        if (owner && owner.id !== tenant.id) {
          log.error({ eventTypeId: eventType.id, tenants: [owner.id, tenant.id] }, 'event type claimed by two tenants')
          continue
        }
        eventTypes.set(eventType.id, tenant)
      }
    }
  }

  const status = await kv.status()
  const watcher = await kv.watch()
  let markInitialized: () => void = () => {}
  const initialized = new Promise<void>((resolve) => {
    markInitialized = resolve
  })
  if (status.values === 0) markInitialized()

  const loop = (async () => {
    for await (const entry of watcher) {
      if (entry.operation === 'PUT') {
        const stored = decodeTenant(entry.key, entry.string(), key)
        if (stored.kind === 'tenant') tenants.set(entry.key, { tenant: stored.tenant, tokens: stored.tokens })
        else if (stored.kind === 'legacy') {
          tenants.set(entry.key, { tenant: stored.tenant, tokens: tokenDigestsOf(stored.tenant, key) })
        } else if (stored.kind === 'removed') tenants.delete(entry.key)
        else if (stored.kind === 'foreign') {
          // Kept as it was: an instance with the other key may be the one that is wrong.
          log.error(
            { tenantId: entry.key, recordKid: stored.kid, kid: key.kid },
            'ignoring a tenant record sealed with another registry key (CALSYNC_REGISTRY_KEY differs between instances?)',
          )
        } else log.error({ tenantId: entry.key }, 'ignoring an invalid tenant record')
      } else {
        tenants.delete(entry.key)
      }
      reindex()
      if (entry.delta === 0) markInitialized()
    }
  })()

  await initialized
  log.info({ tenants: tenants.size }, 'tenant registry loaded')

  return {
    get: (tenantId) => tenants.get(tenantId)?.tenant,
    all: () => [...tenants.values()].map((entry) => entry.tenant),
    identify: (token) => tokens.get(key.tokenDigest(sha256Hex(token))),
    ownerOfEventType: (eventTypeId) => eventTypes.get(eventTypeId),
    async stop() {
      watcher.stop()
      await loop
    },
  }
}
