import {
  createSchemaCheck,
  type Names,
  type TenantRecord,
  TenantRecord as TenantRecordSchema,
  type TokenOrigin,
} from '@calsync/contracts'
import { type KV, Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from 'pino'
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

const checkRecord = createSchemaCheck(TenantRecordSchema)

async function openBucket(nc: NatsConnection, names: Names): Promise<KV> {
  return new Kvm(nc).create(names.buckets.tenants, { history: 5 })
}

/**
 * Writes the tenants of a file to the registry: changed tenants are put, tenants no longer in
 * the file are deleted. Idempotent, so every instance may apply the same file at start.
 */
export async function applyTenants(nc: NatsConnection, names: Names, tenants: TenantRecord[]): Promise<void> {
  const kv = await openBucket(nc, names)
  const wanted = new Map(tenants.map((tenant) => [tenant.id, JSON.stringify(tenant)]))
  for (const [id, value] of wanted) {
    const current = await kv.get(id)
    if (current?.operation === 'PUT' && current.string() === value) continue
    await kv.put(id, value)
  }
  for await (const key of await kv.keys()) {
    if (!wanted.has(key)) await kv.delete(key)
  }
}

export async function openTenantRegistry(options: {
  nc: NatsConnection
  names: Names
  logger: Logger
}): Promise<TenantRegistry> {
  const log = options.logger.child({ component: 'tenant-registry' })
  const kv = await openBucket(options.nc, options.names)
  const tenants = new Map<string, TenantRecord>()
  let tokens = new Map<string, TokenIdentity>()
  let eventTypes = new Map<number, TenantRecord>()

  const reindex = () => {
    tokens = new Map()
    eventTypes = new Map()
    for (const tenant of tenants.values()) {
      for (const token of tenant.tokens) tokens.set(token.sha256, { tenant, origin: token.origin })
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
        let parsed: unknown
        try {
          parsed = entry.json()
        } catch {
          parsed = undefined
        }
        const result = checkRecord.check(parsed)
        if (result.ok) tenants.set(entry.key, result.value)
        else log.error({ tenantId: entry.key }, 'ignoring an invalid tenant record')
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
    get: (tenantId) => tenants.get(tenantId),
    all: () => [...tenants.values()],
    identify: (token) => tokens.get(sha256Hex(token)),
    ownerOfEventType: (eventTypeId) => eventTypes.get(eventTypeId),
    async stop() {
      watcher.stop()
      await loop
    },
  }
}
