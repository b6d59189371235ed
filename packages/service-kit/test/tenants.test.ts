import type { TenantRecord } from '@calsync/contracts'
import {
  applyTenants,
  createLogger,
  generateRegistryKey,
  openTenantRegistry,
  parseRegistryKey,
  parseTenantsDocument,
  parseTenantsFile,
  sha256Hex,
  TenantsFileError,
} from '@calsync/service-kit'
import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectTestNats, eventually, quietLogger, uniqueNames } from '../../../test/support/infra.ts'
import { testRegistryKey as key } from '../../../test/support/tenants.ts'

const env = {
  ACME_KEY: 'cal_live_acme_secret_key',
  ACME_SECRET: 'acme-webhook-secret',
  ACME_PHONE: 'acme-phone-token-0123456789',
}

const valid = `
tenants:
  - id: acme-dental
    name: Acme Dental
    calcom:
      apiKey: \${ACME_KEY}
      webhookSecret: \${ACME_SECRET}
      eventTypes:
        - { id: 1001, resource: dr-jones, lengthMinutes: 30 }
    tokens:
      - token: \${ACME_PHONE}
        origin: retell
      - { token: "sha256:${'a'.repeat(64)}", origin: admin }
`

function failure(text: string, variables: Record<string, string> = env): string {
  try {
    parseTenantsFile(text, variables, 'tenants.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(TenantsFileError)
    return (error as Error).message
  }
  throw new Error('expected the file to be refused')
}

describe('tenants file', () => {
  it('loads a valid file, expanding variables and keeping tokens only as digests', () => {
    const [tenant] = parseTenantsFile(valid, env)
    expect(tenant?.id).toBe('acme-dental')
    expect(tenant?.calcom.apiKey).toBe(env.ACME_KEY)
    expect(tenant?.tokens).toEqual([
      { sha256: sha256Hex(env.ACME_PHONE), origin: 'retell' },
      { sha256: 'a'.repeat(64), origin: 'admin' },
    ])
    expect(JSON.stringify(tenant)).not.toContain(env.ACME_PHONE)
  })

  it('accepts JSON as well', () => {
    const json = JSON.stringify({
      tenants: [
        {
          id: 'x1',
          name: 'X',
          calcom: { apiKey: 'k', webhookSecret: 's', eventTypes: [{ id: 5, resource: 'r', lengthMinutes: 15 }] },
          tokens: [],
        },
      ],
    })
    expect(parseTenantsFile(json, {})[0]?.id).toBe('x1')
  })

  it('names a missing field', () => {
    expect(failure(valid.replace('      apiKey: ${ACME_KEY}\n', ''))).toContain('tenants[0].calcom.apiKey is required')
  })

  it('names a bad tenant id', () => {
    expect(failure(valid.replace('id: acme-dental', 'id: Acme Dental'))).toMatch(/tenants\[0\]\.id must match pattern/)
  })

  it('names an unknown origin and the allowed ones', () => {
    expect(failure(valid.replace('origin: retell', 'origin: calcom'))).toContain(
      'tenants[0].tokens[0].origin must be one of "retell", "admin", "api", "system"',
    )
  })

  it('names an unset ${VAR} and the field that uses it', () => {
    const { ACME_SECRET: _unset, ...rest } = env
    expect(failure(valid, rest)).toBe(
      'tenants.yaml: tenants[0].calcom.webhookSecret: environment variable ACME_SECRET is not set',
    )
  })

  it('refuses an event type owned by two tenants', () => {
    const twice = `${valid}
  - id: other
    name: Other
    calcom: { apiKey: k, webhookSecret: s, eventTypes: [{ id: 1001, resource: r, lengthMinutes: 30 }] }
    tokens: []
`
    expect(failure(twice)).toContain('event type 1001 already belongs to tenant "acme-dental"')
  })

  it('reads the deployment generation, 0 when the file gives none', () => {
    expect(parseTenantsDocument(valid, env).generation).toBe(0)
    expect(parseTenantsDocument(`generation: 7\n${valid}`, env).generation).toBe(7)
    expect(failure(`generation: -1\n${valid}`)).toMatch(/generation must be >= 0/)
    expect(failure(`generation: 1.5\n${valid}`)).toMatch(/generation must be integer/)
  })

  it('refuses text that is not YAML', () => {
    expect(failure('tenants: [')).toContain('not valid YAML or JSON')
  })
})

describe('tenant registry over JetStream KV', () => {
  let nc: NatsConnection
  beforeAll(async () => {
    nc = await connectTestNats()
  })
  afterAll(async () => {
    await nc.drain()
  })

  it('serves tenants to running services and follows changes without a restart', async () => {
    const names = uniqueNames()
    const tenants = parseTenantsFile(valid, env)
    await applyTenants(nc, names, tenants, { key })
    const registry = await openTenantRegistry({ nc, names, logger: quietLogger(), key })
    expect(registry.get('acme-dental')?.name).toBe('Acme Dental')
    expect(registry.identify(env.ACME_PHONE)).toMatchObject({ origin: 'retell', tenant: { id: 'acme-dental' } })
    expect(registry.identify('not-a-token')).toBeUndefined()
    expect(registry.ownerOfEventType(1001)?.id).toBe('acme-dental')
    expect(registry.ownerOfEventType(9999)).toBeUndefined()

    const renamed = tenants.map((tenant) => ({ ...tenant, name: 'Acme Dental Group' }))
    await applyTenants(nc, names, renamed, { key })
    await eventually('the rename to arrive', async () =>
      registry.get('acme-dental')?.name === 'Acme Dental Group' ? true : undefined,
    )
    expect(registry.get('acme-dental')?.calcom.apiKey).toBe(env.ACME_KEY)
    // A file of the same generation without the tenant leaves it: a sibling instance may have added it.
    const other = {
      id: 'other',
      name: 'Other',
      calcom: { apiKey: 'k', webhookSecret: 's', eventTypes: [] },
      tokens: [],
    }
    await applyTenants(nc, names, [other], { key })
    await eventually('the other tenant to arrive', async () => registry.get('other'))
    expect(registry.get('acme-dental')).toBeDefined()
    // A newer generation without it removes it.
    expect((await applyTenants(nc, names, [other], { key, generation: 1 })).removed).toEqual(['acme-dental'])
    await eventually('the removal to arrive', async () => (registry.get('acme-dental') ? undefined : true))
    expect(registry.identify(env.ACME_PHONE)).toBeUndefined()
    // The older generation's file again does not bring it back.
    expect(await applyTenants(nc, names, tenants, { key })).toMatchObject({
      created: [],
      written: [],
      newer: ['acme-dental', 'other'],
    })
    await registry.stop()
  })

  it('reads the clear-text records of earlier versions and seals them on the next apply, history included', async () => {
    const names = uniqueNames()
    const tenant = parseTenantsFile(valid, env)[0] as TenantRecord
    const kv = await new Kvm(nc).create(names.buckets.tenants, { history: 5 })
    await kv.put('acme-dental', JSON.stringify(tenant))
    await kv.put('acme-dental', JSON.stringify({ ...tenant, name: 'Acme (as an earlier version wrote it)' }))
    const registry = await openTenantRegistry({ nc, names, logger: quietLogger(), key })
    expect(registry.get('acme-dental')?.calcom.webhookSecret).toBe(env.ACME_SECRET)
    expect(registry.identify(env.ACME_PHONE)).toMatchObject({ origin: 'retell', tenant: { id: 'acme-dental' } })

    expect((await applyTenants(nc, names, [tenant], { key })).written).toEqual(['acme-dental'])
    await eventually('the sealed record to arrive', async () =>
      registry.get('acme-dental')?.name === 'Acme Dental' ? true : undefined,
    )
    expect(registry.identify(env.ACME_PHONE)).toMatchObject({ origin: 'retell', tenant: { id: 'acme-dental' } })
    const history = []
    for await (const entry of await kv.history({ key: 'acme-dental' })) history.push(entry.string())
    expect(history).toHaveLength(1)
    for (const clear of [env.ACME_KEY, env.ACME_SECRET, sha256Hex(env.ACME_PHONE)])
      expect(history[0]).not.toContain(clear)
    await registry.stop()
  })

  it('does not serve a record sealed with another key, and an apply with its own key takes it over', async () => {
    const names = uniqueNames()
    const tenants = parseTenantsFile(valid, env)
    const otherKey = parseRegistryKey(generateRegistryKey())
    await applyTenants(nc, names, tenants, { key: otherKey })
    const lines: string[] = []
    const logger = createLogger({ name: 'test', level: 'error', destination: { write: (line) => lines.push(line) } })
    const registry = await openTenantRegistry({ nc, names, logger, key })
    expect(registry.get('acme-dental')).toBeUndefined()
    expect(registry.identify(env.ACME_PHONE)).toBeUndefined()
    expect(lines.join('')).toContain('sealed with another registry key')
    expect(lines.join('')).toContain(otherKey.kid)

    expect((await applyTenants(nc, names, tenants, { key })).written).toEqual(['acme-dental'])
    await eventually('the tenant under this key', async () => registry.get('acme-dental'))
    expect(registry.identify(env.ACME_PHONE)?.tenant.calcom.apiKey).toBe(env.ACME_KEY)
    await registry.stop()
  })
})
