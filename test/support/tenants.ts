import type { Names } from '@calsync/contracts'
import {
  applyTenants,
  openTenantRegistry,
  parseRegistryKey,
  parseTenantsFile,
  type TenantRegistry,
} from '@calsync/service-kit'
import type { NatsConnection } from '@nats-io/transport-node'
import { quietLogger } from './infra.ts'

/** Secrets of the test tenants: no log line of the suite may contain any of them (I7). */
export const TEST_SECRETS = {
  ACME_CALCOM_API_KEY: 'cal_test_acme_0f9e8d7c6b5a',
  ACME_WEBHOOK_SECRET: 'acme-whsec-5b4a39c2d1e0',
  ACME_PHONE_TOKEN: 'acme-phone-token-7d6c5b4a3f2e',
  ACME_ADMIN_TOKEN: 'acme-admin-token-1a2b3c4d5e6f',
  BRIGHT_CALCOM_API_KEY: 'cal_test_bright_9a8b7c6d5e4f',
  BRIGHT_WEBHOOK_SECRET: 'bright-whsec-0e1d2c3b4a59',
  BRIGHT_API_TOKEN: 'bright-api-token-6f5e4d3c2b1a',
  CALSYNC_ADMIN_TOKEN: 'review-admin-token-3e1f9a7c2b5d',
  // Also a secret of the scan: no log line may hold the registry key either.
  CALSYNC_REGISTRY_KEY: 'dGVzdC1yZWdpc3RyeS1rZXktb2YtdGhlLXN1aXRlLTA=',
} as const

/**
 * The registry key of every test namespace, as `CALSYNC_REGISTRY_KEY` of the service processes the
 * suite starts: they and the in-process instances read the same bucket.
 */
export const TEST_REGISTRY_KEY = TEST_SECRETS.CALSYNC_REGISTRY_KEY
export const testRegistryKey = parseRegistryKey(TEST_REGISTRY_KEY)

export const TENANTS_YAML = `
tenants:
  - id: acme-dental
    name: Acme Dental
    calcom:
      apiKey: \${ACME_CALCOM_API_KEY}
      webhookSecret: \${ACME_WEBHOOK_SECRET}
      eventTypes:
        - id: 1001
          resource: dr-jones
          lengthMinutes: 30
        - id: 1002
          resource: hygiene-room
          lengthMinutes: 45
    tokens:
      - token: \${ACME_PHONE_TOKEN}
        origin: retell
      - token: \${ACME_ADMIN_TOKEN}
        origin: admin
  - id: bright-smiles
    name: Bright Smiles
    calcom:
      apiKey: \${BRIGHT_CALCOM_API_KEY}
      webhookSecret: \${BRIGHT_WEBHOOK_SECRET}
      eventTypes:
        - id: 2001
          resource: dr-patel
          lengthMinutes: 30
    tokens:
      - token: \${BRIGHT_API_TOKEN}
        origin: api
`

/** Minutes of each test event type, as TENANTS_YAML configures them. */
export const EVENT_TYPE_MINUTES: Readonly<Record<number, number>> = { 1001: 30, 1002: 45, 2001: 30 }

export const ACME = 'acme-dental'
export const BRIGHT = 'bright-smiles'

/** Writes the test tenants to a namespace's registry and opens a live view of it. */
export async function openTestTenants(nc: NatsConnection, names: Names): Promise<TenantRegistry> {
  await applyTenants(nc, names, parseTenantsFile(TENANTS_YAML, TEST_SECRETS, 'test tenants'), { key: testRegistryKey })
  return openTestRegistry(nc, names)
}

/** A live view of a namespace's registry, read with the suite's key, as a further process would open it. */
export function openTestRegistry(nc: NatsConnection, names: Names): Promise<TenantRegistry> {
  return openTenantRegistry({ nc, names, logger: quietLogger(), key: testRegistryKey })
}

/** The first instance writes the test tenants; the others only read the registry, as deployed processes do. */
export function openInstanceTenants(nc: NatsConnection, names: Names, instance: number): Promise<TenantRegistry> {
  return instance === 0 ? openTestTenants(nc, names) : openTestRegistry(nc, names)
}

/**
 * The day the slots count from, fixed when a test process loads this module: a test running
 * across midnight UTC once compared a slot made before it with one made after, a week apart.
 */
const SLOTS_FROM = new Date()

/** Monday 10:00 UTC, some weeks ahead: always in the future, always minute-aligned. */
export function futureSlot(dayOffset = 0, hour = 10, minute = 0): string {
  const date = new Date(SLOTS_FROM)
  date.setUTCDate(date.getUTCDate() + 28 + ((8 - date.getUTCDay()) % 7) + dayOffset)
  date.setUTCHours(hour, minute, 0, 0)
  return date.toISOString()
}
