// A rolling deploy of the webhook gateway, as real processes (main.ts) on the suite's NATS: the old
// instance's tenants file has tenants A and B (generation 1), the new one's A, B and C (generation 2).
// Each applies its own file at start; the old one again when it restarts. C must stay, and both
// gateways must take its webhooks. And the bucket, read raw, must hold no secret in clear.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Names } from '@calsync/contracts'
import { parseTenantsFile, sha256Hex } from '@calsync/service-kit'
import { jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook, signCalcom } from './support/calcom-webhooks.ts'
import { connectTestNats, eventually, uniqueDbName, uniqueNames } from './support/infra.ts'
import { LOG_DIR } from './support/logs.ts'
import { type ServiceProcess, startServiceProcess } from './support/service-process.ts'
import { ACME, BRIGHT, futureSlot, TENANTS_YAML, TEST_SECRETS } from './support/tenants.ts'

const CLINIC = 'clinic-c'
const CLINIC_SECRETS = {
  CLINIC_CALCOM_API_KEY: 'cal_test_clinic_4c3b2a190f8e',
  CLINIC_WEBHOOK_SECRET: 'clinic-whsec-7e6d5c4b3a29',
  CLINIC_API_TOKEN: 'clinic-api-token-2b3c4d5e6f70',
}
const CLINIC_YAML = `
  - id: ${CLINIC}
    name: Clinic C
    calcom:
      apiKey: \${CLINIC_CALCOM_API_KEY}
      webhookSecret: \${CLINIC_WEBHOOK_SECRET}
      eventTypes:
        - { id: 3001, resource: dr-chen, lengthMinutes: 30 }
    tokens:
      - token: \${CLINIC_API_TOKEN}
        origin: api
`
const WEBHOOK_SECRETS: Record<string, string> = {
  [ACME]: TEST_SECRETS.ACME_WEBHOOK_SECRET,
  [BRIGHT]: TEST_SECRETS.BRIGHT_WEBHOOK_SECRET,
  [CLINIC]: CLINIC_SECRETS.CLINIC_WEBHOOK_SECRET,
}
const EVENT_TYPES: Record<string, number> = { [ACME]: 1001, [BRIGHT]: 2001, [CLINIC]: 3001 }

const OLD_FILE = `generation: 1\n${TENANTS_YAML}`
const NEW_FILE = `generation: 2\n${TENANTS_YAML}${CLINIC_YAML}`

function writeFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'calsync-rollout-')), 'tenants.yaml')
  writeFileSync(path, text)
  return path
}

let delivery = 0
async function postWebhook(gateway: ServiceProcess, tenantId: string): Promise<number> {
  delivery += 1
  const body = JSON.stringify(
    bookingWebhook('BOOKING_CREATED', {
      uid: `rollout-${tenantId}-${delivery}`,
      eventTypeId: EVENT_TYPES[tenantId] as number,
      start: futureSlot(0, 9),
    }),
  )
  const response = await fetch(`http://127.0.0.1:${gateway.port}/webhooks/calcom/${tenantId}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-cal-signature-256': signCalcom(body, WEBHOOK_SECRETS[tenantId] as string),
    },
    body,
  })
  return response.status
}

/** Every message of the registry bucket's stream, history included, as the bytes any NATS client can read. */
async function rawBucket(nc: NatsConnection, names: Names): Promise<string[]> {
  const jsm = await jetstreamManager(nc)
  const stream = `KV_${names.buckets.tenants}`
  const { state } = await jsm.streams.info(stream)
  const messages: string[] = []
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const message = await jsm.streams.getMessage(stream, { seq }).catch(() => null)
    if (message) messages.push(`${message.subject}\n${message.header?.toString() ?? ''}\n${message.string()}`)
  }
  return messages
}

describe('a rolling deploy of two gateways with different tenants files', () => {
  const started: ServiceProcess[] = []
  let nc: NatsConnection
  beforeAll(async () => {
    mkdirSync(LOG_DIR, { recursive: true })
    nc = await connectTestNats()
  })
  afterAll(async () => {
    for (const service of started) await service.managed.stop()
    await nc.drain()
  })

  const startGateway = async (names: Names, file: string, env: Record<string, string> = {}) => {
    const gateway = await startServiceProcess('webhook-gateway', {
      names,
      dbName: uniqueDbName('rollout'),
      portVariable: 'GATEWAY_PORT',
      env: { ...CLINIC_SECRETS, CALSYNC_TENANTS: file, ...env },
    })
    started.push(gateway)
    return gateway
  }

  it('keeps the new tenant through a restart of the old instance; both gateways accept its webhooks', async () => {
    const names = uniqueNames()
    const oldFile = writeFile(OLD_FILE)
    const newFile = writeFile(NEW_FILE)
    // The registry as an earlier version left it: A and B in clear.
    const kv = await new Kvm(nc).create(names.buckets.tenants, { history: 5 })
    for (const tenant of parseTenantsFile(TENANTS_YAML, TEST_SECRETS)) await kv.put(tenant.id, JSON.stringify(tenant))

    const old = await startGateway(names, oldFile)
    const fresh = await startGateway(names, newFile)
    expect(await postWebhook(fresh, CLINIC)).toBe(202)
    await eventually('the old gateway to see the new tenant', async () =>
      (await postWebhook(old, CLINIC)) === 202 ? true : undefined,
    )

    // The old instance restarts and applies its file again.
    await old.managed.stop(10_000)
    expect(await old.exited).toBe(0)
    const restarted = await startGateway(names, oldFile)
    expect(restarted.output()).toContain('"msg":"tenants file applied"')

    for (const gateway of [restarted, fresh]) {
      for (const tenantId of [ACME, BRIGHT, CLINIC]) {
        expect(await postWebhook(gateway, tenantId), `${tenantId} at port ${gateway.port}`).toBe(202)
      }
    }
    const keys: string[] = []
    for await (const key of await kv.keys()) keys.push(key)
    expect(keys.sort()).toEqual([ACME, BRIGHT, CLINIC])
    for (const key of keys) {
      expect(JSON.parse((await kv.get(key))?.string() ?? '{}'), key).toMatchObject({ format: 2, generation: 2 })
    }

    // What any NATS client of the deployment can read of the bucket, every revision included.
    const raw = (await rawBucket(nc, names)).join('\n')
    expect(raw).toContain(`"id":"${CLINIC}"`)
    const secrets = { ...TEST_SECRETS, ...CLINIC_SECRETS }
    for (const [name, secret] of Object.entries(secrets)) {
      expect(raw.includes(secret), name).toBe(false)
      expect(raw.includes(sha256Hex(secret)), `sha256 of ${name}`).toBe(false)
    }
    expect(restarted.output()).not.toContain(TEST_SECRETS.CALSYNC_REGISTRY_KEY)
  })

  it('refuses to start with a malformed registry key, naming the variable and not the value', async () => {
    const badKey = 'not-32-bytes-of-key-material'
    const gateway = await startServiceProcess('webhook-gateway', {
      names: uniqueNames(),
      dbName: uniqueDbName('rollout'),
      portVariable: 'GATEWAY_PORT',
      env: { CALSYNC_REGISTRY_KEY: badKey },
      waitReady: false,
    })
    started.push(gateway)
    expect(await gateway.exited).not.toBe(0)
    expect(gateway.output()).toContain('CALSYNC_REGISTRY_KEY: must be 32 bytes given as 64 hex digits or as base64')
    expect(gateway.output()).not.toContain(badKey)
  })
})
