// The signed-webhook fuzzer: schemathesis cannot sign, so this sends ≥ 10,000 mutated Cal.com
// bodies, each correctly signed (the secret-holder is the attacker here), through the gateway into
// the appointments and review services on real NATS and the real database. Whatever the body, no
// 5xx, no consumer stuck or crashed, and nothing stored from what the gateway refused.
import { BOOKING_TRIGGERS, NO_SHOW_TRIGGER } from '@calsync/contracts'
import { createServiceMetrics } from '@calsync/service-kit'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AppointmentsHarness, startAppointmentsHarness } from '../services/appointments/test/support/harness.ts'
import { type ReviewHarness, startReviewHarness } from '../services/review/test/support/review-harness.ts'
import { buildApp as buildGateway } from '../services/webhook-gateway/src/app.ts'
import {
  type GatewayHarness,
  SECRETS,
  startGatewayHarness,
} from '../services/webhook-gateway/test/support/gateway-harness.ts'
import { bookingWebhook, signCalcom } from './support/calcom-webhooks.ts'
import { eventually } from './support/infra.ts'
import { fileLogger } from './support/logs.ts'
import { ACME, BRIGHT, futureSlot, TEST_SECRETS } from './support/tenants.ts'

const BODIES = Number(process.env.CALSYNC_FUZZ_BODIES ?? 10_000)
/**
 * The first bodies go through the gateway into the services; the rest to a gateway of its own
 * (same code, its own streams, nobody consuming), so the run stays short while every body still
 * meets the gateway and a large sample of what it accepts meets the services.
 */
const PIPED_BODIES = Math.min(BODIES, Number(process.env.CALSYNC_FUZZ_PIPED_BODIES ?? 3_000))
/** What the gateway may answer a signed body: never a 5xx (NATS is up throughout). */
const ANSWERS = new Set([200, 202, 400, 401, 403, 404, 413, 415, 429])

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const ABSURD_INSTANTS = [
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '2027-02-30T10:00:00Z',
  '2027-06-30T23:59:60Z',
  '+275760-09-13T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '2027-01-01T10:00:00+99:99',
  '2027-01-01',
  '1e21',
  '',
]
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', '$where', '$set', 'a.b', '', '\u0000', 'toString']
const HOSTILE_STRINGS = [
  'x'.repeat(300_000),
  'y'.repeat(10_000),
  '\ud800',
  '\u202e\u0000\uffff',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ 日本語',
  '{"$gt": ""}',
  'acme-dental',
  'bright-smiles',
  '../../etc/passwd',
]

const deepNest = (depth: number): Json => {
  let value: Json = 'bottom'
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { n: value }
  return value
}

/** A value of any shape, biased towards what breaks parsers, schemas and stores. */
const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 2 ** 53 + 1, -(2 ** 63), 1e308, [], {}),
  fc.constantFrom<Json>(...HOSTILE_STRINGS, ...ABSURD_INSTANTS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.constantFrom(5, 64, 3000).map(deepNest),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.dictionary(fc.constantFrom(...HOSTILE_KEYS), fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<Json>),
)

type Mutation =
  | { kind: 'set'; path: number[]; value: Json }
  | { kind: 'delete'; path: number[] }
  | { kind: 'key'; path: number[]; key: string; value: Json }
  | { kind: 'range'; startShiftMs: number; lengthMs: number }
  | { kind: 'eventType'; id: number }

const pathArb = fc.array(fc.nat(), { minLength: 1, maxLength: 4 })
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), path: pathArb, value: hostileValue }),
  fc.record({ kind: fc.constant('delete' as const), path: pathArb }),
  fc.record({
    kind: fc.constant('key' as const),
    path: fc.array(fc.nat(), { maxLength: 3 }),
    key: fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 12 })),
    value: hostileValue,
  }),
  fc.record({
    kind: fc.constant('range' as const),
    startShiftMs: fc.constantFrom(0, -1, 30_000, -86_400_000 * 400),
    lengthMs: fc.constantFrom(0, -60_000, 1, 30 * 60_000, 86_400_000 + 60_000, 30 * 365 * 86_400_000),
  }),
  // Another tenant's event type, one no tenant owns, or nonsense.
  fc.record({ kind: fc.constant('eventType' as const), id: fc.constantFrom(1001, 1002, 2001, 987_654, 0, -5) }),
)

/** Walks `path` through the body's objects and arrays (each index picks among the keys present). */
function locate(root: Json, path: number[]): { parent: Json[] | { [key: string]: Json }; key: string | number } | null {
  let node: Json = root
  let parent: Json[] | { [key: string]: Json } | null = null
  let key: string | number = ''
  for (const step of path) {
    if (node === null || typeof node !== 'object') break
    const keys: Array<string | number> = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node)
    if (keys.length === 0) break
    parent = node
    key = keys[step % keys.length] as string | number
    node = (node as Record<string | number, Json>)[key] as Json
  }
  return parent ? { parent, key } : null
}

function mutate(body: { [key: string]: Json }, change: Mutation): void {
  if (change.kind === 'range') {
    const payload = body.payload as { [key: string]: Json } | undefined
    if (!payload || typeof payload !== 'object') return
    const start =
      (typeof payload.startTime === 'string' ? Date.parse(payload.startTime) : Number.NaN) + change.startShiftMs
    if (!Number.isFinite(start)) return
    payload.startTime = new Date(start).toISOString()
    payload.endTime = new Date(start + change.lengthMs).toISOString()
    return
  }
  if (change.kind === 'eventType') {
    const payload = body.payload as { [key: string]: Json } | undefined
    if (payload && typeof payload === 'object') payload.eventTypeId = change.id
    return
  }
  if (change.kind === 'key') {
    const spot = change.path.length ? locate(body, change.path) : null
    const target = spot ? (spot.parent as Record<string | number, Json>)[spot.key] : body
    if (target && typeof target === 'object' && !Array.isArray(target)) {
      // defineProperty: an own "__proto__" key, as JSON.parse would make it from the wire.
      Object.defineProperty(target, change.key, {
        value: change.value,
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return
  }
  const spot = locate(body, change.path)
  if (!spot) return
  if (change.kind === 'delete') {
    if (Array.isArray(spot.parent)) spot.parent.splice(Number(spot.key), 1)
    else delete spot.parent[spot.key as string]
  } else (spot.parent as Record<string | number, Json>)[spot.key] = change.value
}

function secretFor(tenant: string, crossSigned: boolean): string {
  const other = tenant === ACME ? BRIGHT : ACME
  return SECRETS[crossSigned ? other : tenant] ?? TEST_SECRETS.ACME_WEBHOOK_SECRET
}

let made = 0
function baseBody(trigger: string, tenant: string): { [key: string]: Json } {
  made++
  const uid = `fz-${made}`
  if (trigger === NO_SHOW_TRIGGER) {
    return {
      triggerEvent: trigger,
      createdAt: new Date().toISOString(),
      payload: { bookingUid: uid, attendees: [{ email: 'a@example.org', noShow: true }] },
    }
  }
  const booking = BOOKING_TRIGGERS.includes(trigger as (typeof BOOKING_TRIGGERS)[number])
  const webhook = bookingWebhook(booking ? (trigger as 'BOOKING_CREATED') : 'BOOKING_CREATED', {
    uid,
    eventTypeId: tenant === BRIGHT ? 2001 : 1001,
    start: futureSlot(made % 20, 8 + (made % 9)),
    ...(trigger === 'BOOKING_RESCHEDULED' ? { rescheduleUid: `fz-${made - 1}` } : {}),
  })
  return { ...(JSON.parse(JSON.stringify(webhook)) as { [key: string]: Json }), triggerEvent: trigger }
}

const delivery = fc.record({
  trigger: fc.constantFrom(...BOOKING_TRIGGERS, NO_SHOW_TRIGGER, 'PING', 'MEETING_ENDED', 'NOT_A_TRIGGER'),
  // Some unchanged or with one change, so enough get through to reach the services behind.
  mutations: fc.oneof(
    { weight: 1, arbitrary: fc.constant([]) },
    { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 1 }) },
    { weight: 8, arbitrary: fc.array(mutation, { minLength: 2, maxLength: 4 }) },
  ),
  tenant: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(ACME, ACME, BRIGHT) },
    { weight: 1, arbitrary: fc.constantFrom('no-such-tenant', 'ACME', '..', 'acme-dental%2F..', 'a'.repeat(65)) },
  ),
  /** Mostly the tenant's own secret; sometimes the other tenant's (a secret-holder aiming across). */
  crossSigned: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  /** A body that is not JSON at all, or JSON that is no object. */
  raw: fc.oneof(
    { weight: 14, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom('[]', 'null', '"x"', '1', '{', '{"a":1}{')),
    },
  ),
})

describe('signed-webhook fuzzer', () => {
  let appointments: AppointmentsHarness
  let review: ReviewHarness
  let gateway: ReturnType<typeof buildGateway>
  let alone: GatewayHarness
  beforeAll(async () => {
    alone = await startGatewayHarness({ rateLimitPerMinute: 1_000_000_000 })
    appointments = await startAppointmentsHarness({
      // Short waits: webhooks naming bookings never seen settle within the test, not after minutes.
      components: { webhookWait: { initialMs: 20, maxMs: 100, deliveries: 3 }, unknownRescheduleGraceMs: 200 },
    })
    review = await startReviewHarness({ names: appointments.names })
    const [instance] = appointments.instances
    if (!instance) throw new Error('no appointments instance')
    gateway = buildGateway({
      logger: fileLogger('webhook-gateway-fuzz'),
      readiness: async () => ({ ok: true }),
      tenants: instance.tenants,
      js: instance.js,
      names: appointments.names,
      metrics: createServiceMetrics({ serviceName: 'webhook-gateway' }),
      config: { replayWindowMs: 15 * 60_000, rateLimitPerMinute: 1_000_000_000 },
    })
  }, 60_000)
  afterAll(async () => {
    await gateway?.close()
    await alone?.close()
    await review?.close()
    await appointments?.close()
  })

  it(`answers ${BODIES} mutated, signed Cal.com bodies without a 5xx, and stores nothing it refused`, async () => {
    expect(BODIES).toBeGreaterThanOrEqual(PIPED_BODIES)
    const statuses = new Map<number, number>()
    const accepted = new Set<string>()
    const refused = new Set<string>()
    const published = { piped: 0, alone: 0 }
    let sent = 0
    const began = Date.now()
    await fc.assert(
      fc.asyncProperty(delivery, async ({ trigger, mutations, tenant, crossSigned, raw }) => {
        const body = baseBody(trigger, tenant)
        for (const change of mutations) mutate(body, change)
        const payload = body.payload as { uid?: unknown } | null
        const uid = payload && typeof payload === 'object' && typeof payload.uid === 'string' ? payload.uid : ''
        const text = raw ?? JSON.stringify(body)
        const route = sent++ < PIPED_BODIES ? 'piped' : 'alone'
        const response = await (route === 'piped' ? gateway : alone.app).inject({
          method: 'POST',
          url: `/webhooks/calcom/${tenant}`,
          headers: {
            'content-type': 'application/json',
            'x-cal-signature-256': signCalcom(text, secretFor(tenant, crossSigned)),
          },
          payload: text,
        })
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
        expect(ANSWERS.has(response.statusCode), `status ${response.statusCode} for ${text.slice(0, 300)}`).toBe(true)
        const answer = response.json() as { error?: string; message?: string; status?: string }
        if (response.statusCode >= 400) {
          expect(typeof answer.error).toBe('string')
          expect(typeof answer.message).toBe('string')
          for (const secret of Object.values(TEST_SECRETS)) expect(response.body).not.toContain(secret)
          if (uid && route === 'piped') refused.add(`${tenant}|${uid}`)
        } else if (response.statusCode === 202) {
          published[route]++
          if (uid && route === 'piped') accepted.add(`${tenant}|${uid}`)
        }
      }),
      { numRuns: BODIES, endOnFailure: true },
    )
    const counts = Object.fromEntries([...statuses].sort(([a], [b]) => a - b))
    const sentIn = Date.now() - began
    process.stdout.write(`[fuzz] ${BODIES} signed bodies in ${sentIn} ms; answers ${JSON.stringify(counts)}\n`)
    expect([...statuses.keys()].every((status) => status < 500)).toBe(true)

    // Every 202 is exactly one stored message (webhook, or an unmapped one for review); nothing else was.
    const { jsm, names } = appointments
    const stored = async () =>
      (await jsm.streams.info(names.streams.webhooks)).state.messages + (await readUnmapped(jsm, names.streams.review))
    expect(await stored()).toBe(published.piped)
    const { webhooks, review: unmapped } = await alone.messageCounts()
    expect(webhooks + unmapped).toBe(published.alone)

    // The services take in all of it and stay up: both consumers drain, none ends.
    // Bounded by the test's own timeout: how fast they drain is the bench's business, not this test's.
    const drained = (idle: () => Promise<boolean>) => async () => ((await idle()) ? true : undefined)
    await eventually('the appointments consumers to drain', drained(appointments.consumersIdle), 600_000)
    await eventually('the review consumer to drain', drained(review.consumersIdle), 600_000)
    process.stdout.write(
      `[fuzz] ${published.piped} accepted deliveries of the first ${PIPED_BODIES} taken in by the services ${Date.now() - began - sentIn} ms later\n`,
    )
    for (const instance of appointments.instances) expect(instance.components.consumersRunning()).toBe(true)

    // Nothing of a refused body became an appointment.
    for (const tenant of [ACME, BRIGHT]) {
      const ids = await appointments.db
        .collection<{ tenantId: string; calcomBookingUid: string | null }>('appointments')
        .find({ tenantId: tenant })
        .toArray()
      for (const appointment of ids) {
        const key = `${tenant}|${appointment.calcomBookingUid}`
        if (appointment.calcomBookingUid) expect(refused.has(key) && !accepted.has(key)).toBe(false)
      }
    }
  }, 900_000)
})

/** Review-stream messages the gateway published (unmapped event types), not the services' reports. */
async function readUnmapped(jsm: AppointmentsHarness['jsm'], stream: string): Promise<number> {
  const { state } = await jsm.streams.info(stream, { subjects_filter: '>' })
  const subjects = state.subjects ?? {}
  return Object.entries(subjects)
    .filter(([subject]) => subject.endsWith('.unmapped_event_type'))
    .reduce((sum, [, count]) => sum + count, 0)
}
