// Randomized schedules of the whole sync: local changes through the API, customer changes on
// Cal.com (the sandbox), webhooks held back and released out of order or twice or lost, a gateway
// answering 503 (Cal.com retrying or not), Cal.com faults, calcom-sync processes SIGKILLed at
// chosen points and appointments changes stopped right after their event insert, all against real
// NATS, FerretDB, the gateway, appointments and calcom-sync processes. After each schedule settles, the invariants are checked against the sandbox's truth. A failing schedule is
// shrunk by fast-check and printed with its seed and steps; CALSYNC_MODEL_RUNS sets how many run,
// CALSYNC_MODEL_SEED repeats a run.
import {
  CALSYNC_METADATA,
  consumerDefinitions,
  type ReviewRequest,
  type TenantReconcileReport,
} from '@calsync/contracts'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SeenAppointment } from '../scripts/chaos/chaos-figures.ts'
import { createReconcileCommands } from '../services/review/src/reconcile/reconcile-commands.ts'
import { consumersIdle, eventually } from './support/infra.ts'
import { testInstances } from './support/instances.ts'
import { type Stack, startStack } from './support/stack.ts'
import { readStream } from './support/streams.ts'
import { startSyncProcesses } from './support/sync-processes.ts'
import { FAULT_PATH, SLOT_MINUTES, type Step, stepArb, WEBHOOK_RETRIES } from './support/sync-schedule.ts'
import { ACME, futureSlot, TEST_SECRETS } from './support/tenants.ts'

const RUNS = Number(process.env.CALSYNC_MODEL_RUNS ?? 20)
/** `npm run check:deep` stops generating after this many minutes (0: no limit); what ran still counts. */
const TIME_LIMIT_MS = Number(process.env.CALSYNC_MODEL_MINUTES ?? 0) * 60_000
// npm test draws the same schedules every run (a timing-dependent race found by check:deep must
// show up there, not as a CI lottery); check:deep draws fresh ones (CALSYNC_MODEL_RANDOM=1).
const SEED = process.env.CALSYNC_MODEL_SEED
  ? Number(process.env.CALSYNC_MODEL_SEED)
  : process.env.CALSYNC_MODEL_RANDOM
    ? undefined
    : 20261202
/**
 * Schedules run on a fresh stack (databases, streams, processes) after this many, and always after
 * one failed. Each uses its own day and patient, but the data of earlier ones still weighs on
 * every query (FerretDB over SQLite scans a whole collection even for an `_id` lookup), and a
 * failed one can leave work stuck that would fail every shrink of it for that alone.
 */
const FRESH_EVERY = Number(process.env.CALSYNC_MODEL_FRESH_EVERY ?? 50)
const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const PHONE = TEST_SECRETS.ACME_PHONE_TOKEN
const attendee = { name: 'Model Patient', email: 'model@example.org', timeZone: 'UTC' }

/** `CALSYNC_MODEL_STEPS='<json>'` runs one printed schedule (a counterexample) RUNS times. */
const schedules: fc.Arbitrary<Step[]> = process.env.CALSYNC_MODEL_STEPS
  ? fc.constant(JSON.parse(process.env.CALSYNC_MODEL_STEPS) as Step[])
  : fc.array(stepArb, { minLength: 1, maxLength: 9 })

describe('the whole sync under randomized schedules', () => {
  let s: Stack
  let workers: Awaited<ReturnType<typeof startSyncProcesses>>
  let day = 200
  /** A crash-appointments step arms this; the next event insert then stops its change. */
  let crashArmed = false
  let crashes = 0
  let killedBefore = 0
  let sinceFresh = 0
  let lastFailed = false
  let freshStacks = 0
  let lostTotal = 0
  /** A gateway-503 step arms this; the gateway instance it names refuses that many stores. */
  let refusing: { instance: number; remaining: number; stored: boolean } | undefined
  let refused = { refuse: 0, storeThenRefuse: 0 }
  let refusedTotal = 0
  let reconcileFindings = 0
  async function openStack() {
    // calcom-sync as processes (one per instance), so a schedule can SIGKILL one at a chosen point.
    s = await startStack({
      startSync: false,
      afterEventWrite: () => {
        if (!crashArmed) return
        crashArmed = false
        crashes++
        throw new Error('crash right after the event insert (a schedule step)')
      },
      gatewayQueueFault: (instance) => {
        if (!refusing || refusing.remaining === 0 || instance !== refusing.instance % testInstances()) return undefined
        refusing.remaining--
        if (refusing.stored) refused.storeThenRefuse++
        else refused.refuse++
        return refusing.stored ? 'store-then-refuse' : 'refuse'
      },
    })
    workers = await startSyncProcesses(s, testInstances())
    sinceFresh = 0
    lastFailed = false
  }
  async function closeStack() {
    killedBefore += workers?.deaths() ?? 0
    await workers?.close()
    await s?.close()
  }
  async function freshStackIfDue() {
    if (!lastFailed && sinceFresh < FRESH_EVERY) return
    await closeStack()
    await openStack()
    freshStacks++
  }
  beforeAll(openStack, 120_000)
  afterAll(async () => {
    await closeStack()
    process.stdout.write(
      `[model] process faults: calcom-sync processes killed ${killedBefore}, appointments changes crashed after their event insert ${crashes}; fresh stacks ${freshStacks}; webhooks lost ${lostTotal}, gateway 503s ${refusedTotal}, reconciler findings in review ${reconcileFindings}\n`,
    )
  })

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  /** The customer on Cal.com; a fault meant for calcom-sync may hit it instead (same key): then it fails. */
  async function customer(path: string, body: unknown): Promise<void> {
    await fetch(`${s.sandboxUrl}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_SECRETS.ACME_CALCOM_API_KEY}`,
        'cal-api-version': '2024-08-13',
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(3000),
    })
      .then((response) => response.body?.cancel())
      .catch(() => undefined)
  }

  /** Runs one schedule on a day of its own; answers what the checks need. */
  async function run(steps: Step[]) {
    const today = day++
    const slot = (index: number) => futureSlot(today, 9, SLOT_MINUTES[index] ?? 0)
    // A patient of the day: one attendee booking thousands of times within the hour would make
    // calcom-sync's look-ups (by attendee) page through every earlier schedule's bookings.
    const patient = { ...attendee, email: `patient-${today}@example.org` }
    const local: string[] = []
    const requestsBefore = s.sandbox.requests().length
    let customerWrites = 0
    let localChanges = 0
    let lost = 0
    let losing = false
    refused = { refuse: 0, storeThenRefuse: 0 }
    const seqBefore = Math.max(0, ...s.sandbox.webhooks().map((delivery) => delivery.seq))
    // Whether Cal.com retries holds for the whole schedule, so which deliveries are lost is known.
    const retried = steps.find((step) => step.kind === 'gateway-503')?.retried ?? false
    s.sandbox.setWebhookRetries(retried ? WEBHOOK_RETRIES : undefined)
    const api = (token: string, method: 'POST', path: string, body: unknown, headers: Record<string, string> = {}) =>
      s.appointments.api(token, method, path, body, headers)
    const onDay = () =>
      s.sandbox
        .bookings(ACME)
        .filter((booking) => booking.start.slice(0, 10) === slot(0).slice(0, 10))
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id - b.id)
    for (const [index, step] of steps.entries()) {
      const times = 'twice' in step && step.twice ? 2 : 1
      const crashesBefore = crashes
      /** No 5xx, unless the change met an armed crash (whose caller a real crash would cut off). */
      const noServerError = (answer: { statusCode: number; body: string }) => {
        if (crashes === crashesBefore) expect(answer.statusCode, answer.body).toBeLessThan(500)
      }
      switch (step.kind) {
        case 'local-create': {
          const headers: Record<string, string> = step.idempotent
            ? { 'idempotency-key': `model-${today}-${index}` }
            : {}
          const body = { eventTypeId: 1001, start: slot(step.slot), attendee: patient }
          const answers = await Promise.all(
            Array.from({ length: times }, () =>
              api(step.phone ? PHONE : ADMIN, 'POST', '/v1/appointments', body, headers),
            ),
          )
          localChanges++
          for (const answer of answers) {
            noServerError(answer)
            if (answer.statusCode === 201 && !local.includes(answer.json().id)) local.push(answer.json().id)
          }
          break
        }
        case 'local-reschedule':
        case 'local-cancel': {
          const id = local[step.target % Math.max(1, local.length)]
          if (!id) break
          const path = `/v1/appointments/${id}/${step.kind === 'local-cancel' ? 'cancel' : 'reschedule'}`
          const body = step.kind === 'local-cancel' ? { reason: 'model' } : { start: slot(step.slot) }
          const answers = await Promise.all(Array.from({ length: times }, () => api(ADMIN, 'POST', path, body)))
          localChanges++
          for (const answer of answers) noServerError(answer)
          break
        }
        case 'customer-book':
          customerWrites++
          await customer('/v2/bookings', { start: slot(step.slot), eventTypeId: 1001, attendee: patient })
          break
        case 'customer-reschedule':
        case 'customer-cancel': {
          const active = onDay().filter((booking) => booking.status === 'accepted')
          const target = active[step.target % Math.max(1, active.length)]
          if (!target) break
          customerWrites++
          if (step.kind === 'customer-cancel') {
            await customer(`/v2/bookings/${target.uid}/cancel`, { cancellationReason: 'customer' })
          } else {
            await customer(`/v2/bookings/${target.uid}/reschedule`, { start: slot(step.slot) })
          }
          break
        }
        case 'hold-webhooks':
          s.sandbox.holdWebhooks(ACME)
          break
        case 'release-webhooks': {
          losing = false
          const held = s.sandbox.heldWebhooks().map((item) => item.id)
          const order = step.reverse ? [...held].reverse() : held
          s.sandbox.releaseWebhooks({ order, ...(step.twice && order[0] ? { twice: [order[0]] } : {}) })
          break
        }
        case 'lose-webhooks': {
          // What is held already, and what is sent from now until a release step: never delivered.
          const held = s.sandbox.heldWebhooks().map((item) => item.id)
          if (held.length > 0) s.sandbox.releaseWebhooks({ order: [], drop: held, keepHolding: true })
          lost += held.length
          losing = true
          s.sandbox.holdWebhooks(ACME)
          break
        }
        case 'gateway-503':
          refusing = { instance: step.instance, remaining: step.deliveries, stored: step.stored }
          break
        case 'calcom-fault': {
          const action =
            step.fault === '503'
              ? { status: 503 as const }
              : step.fault === '429'
                ? { status: 429 as const, resetSeconds: 1 }
                : step.fault === 'hang'
                  ? { hang: true as const }
                  : { commitThenDrop: true as const }
          s.sandbox.addFault({ method: 'POST', path: FAULT_PATH[step.on] }, action, 1)
          break
        }
        case 'crash-appointments':
          crashArmed = true
          break
        case 'kill-sync':
          await workers.killAndArm(step.worker, step.point)
          break
      }
      // Let some of the work run in between, so steps interleave with syncs and webhooks.
      await sleep(index % 3 === 0 ? 0 : 40)
    }
    if (losing) {
      const held = s.sandbox.heldWebhooks().map((item) => item.id)
      if (held.length > 0) s.sandbox.releaseWebhooks({ order: [], drop: held })
      lost += held.length
    }
    await settle()
    // Only the gateway's 503s failed a delivery; without retries, those it had not stored are lost.
    const failed = s.sandbox.webhooks().filter((delivery) => delivery.seq > seqBefore && !delivery.ok)
    expect(
      failed.map((delivery) => delivery.status ?? delivery.error),
      'failed webhook deliveries',
    ).toEqual(failed.map(() => 503))
    expect(failed.length, 'failed deliveries, one per gateway 503').toBe(refused.refuse + refused.storeThenRefuse)
    if (!retried) lost += refused.refuse
    refusedTotal += failed.length
    // Webhooks lost for good: the reconciler's pass brings calsync to Cal.com again, through the
    // same decision path (a replayed change can make Cal.com calls of its own: a re-drive's).
    if (lost > 0) {
      await reconcile(false)
      await settle()
      lostTotal += lost
    }
    const writes = s.sandbox
      .requests()
      .slice(requestsBefore)
      .filter((request) => request.method === 'POST' && request.path.startsWith('/v2/bookings')).length
    return { today, slot, local, calsyncWrites: writes - customerWrites, changes: localChanges + customerWrites, onDay }
  }

  /**
   * One reconcile pass for acme through calcom-sync's command (the processes answer it; retried
   * while one restarts). A process set to die during a lease can take the request with it: each
   * try waits a fraction of the budget, so the retry still reaches the restarted one.
   */
  async function reconcile(dryRun: boolean): Promise<TenantReconcileReport> {
    const commands = createReconcileCommands({ nc: s.appointments.nc, names: s.names, timeoutMs: 15_000 })
    return eventually(
      'a reconcile pass',
      async () => {
        const reply = await commands
          .reconcile({ type: 'calcom_sync.reconcile', tenantId: ACME, dryRun, requestedBy: 'model' })
          .catch(() => undefined)
        const report = reply?.tenants[0]
        return report && !report.error ? report : undefined
      },
      120_000,
    )
  }

  async function settle() {
    crashArmed = false
    refusing = undefined
    s.sandbox.clearFaults()
    s.sandbox.releaseWebhooks()
    const consumers = [...Object.values(consumerDefinitions(s.names))].filter(
      (c) => c.durable !== s.names.consumers.review,
    )
    let quiet = 0
    await eventually(
      'the schedule to settle',
      async () => {
        await s.sandbox.flushWebhooks()
        const idle = (await consumersIdle(s.appointments.jsm, consumers)) && s.sandbox.heldWebhooks().length === 0
        quiet = idle ? quiet + 1 : 0
        if (quiet < 3) await sleep(150)
        return quiet >= 3 ? true : undefined
      },
      90_000,
    )
  }

  it(
    `keeps I1–I5 for every schedule (${RUNS} schedules)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(schedules, async (steps) => {
          await freshStackIfDue()
          sinceFresh++
          lastFailed = true
          const outcome = await run(steps)
          const { slot } = outcome
          const from = slot(0).slice(0, 10)
          const listed = (
            await s.appointments.api(
              ADMIN,
              'GET',
              `/v1/appointments?from=${from}T00:00:00Z&to=${from}T23:59:59Z&limit=200`,
            )
          ).json().items as SeenAppointment[]
          const bookings = outcome.onDay()
          const active = bookings.filter((booking) => booking.status === 'accepted')
          const reviews = (await readStream<ReviewRequest>(s.appointments.jsm, s.names.streams.review)).map(
            (m) => m.body,
          )
          const reviewText = JSON.stringify(reviews)
          const booked = listed.filter((item) => item.status === 'booked')

          // Nothing is left half-way: every appointment's sync has an outcome.
          for (const item of listed) expect(item.sync.status, `${item.id} sync`).not.toBe('pending')
          // I1/I2: overlapping booked appointments of one resource are both in conflict, with a report.
          for (const a of booked) {
            for (const b of booked) {
              if (a.id >= b.id || a.resource !== b.resource) continue
              if (Date.parse(a.start) < Date.parse(b.end) && Date.parse(b.start) < Date.parse(a.end)) {
                expect([a.sync.status, b.sync.status], `${a.id} overlaps ${b.id}`).toEqual(['conflict', 'conflict'])
                expect(reviewText, 'a double_booking item names both').toContain(a.id)
                expect(reviewText).toContain(b.id)
              }
            }
          }
          // I4: a synced booked appointment has exactly one active booking, its own, at its time.
          for (const item of booked.filter((i) => i.sync.status === 'synced')) {
            const its = active.filter(
              (booking) =>
                booking.uid === item.calcomBookingUid || booking.metadata[CALSYNC_METADATA.appointmentId] === item.id,
            )
            expect(
              its.map((booking) => booking.uid),
              `${item.id} (${item.origin}) active bookings`,
            ).toEqual([item.calcomBookingUid])
            expect(Date.parse(its[0]?.start ?? ''), `${item.id} start on Cal.com`).toBe(Date.parse(item.start))
          }
          // …and a synced cancelled one has none.
          for (const item of listed.filter((i) => i.status === 'cancelled' && i.sync.status === 'synced')) {
            const its = active.filter(
              (booking) =>
                booking.uid === item.calcomBookingUid || booking.metadata[CALSYNC_METADATA.appointmentId] === item.id,
            )
            expect(
              its.map((booking) => booking.uid),
              `${item.id} cancelled but active on Cal.com`,
            ).toEqual([])
          }
          // I3: every active Cal.com booking is an appointment calsync knows, or is in review.
          for (const booking of active) {
            const known = booked.some((item) => item.calcomBookingUid === booking.uid)
            if (!known)
              expect(reviewText, `active booking ${booking.uid} unknown to calsync and not in review`).toContain(
                booking.uid,
              )
          }
          // I5: no loop — calsync's own Cal.com writes stay within a few per change (retries, look-ups' fixes).
          expect(outcome.calsyncWrites, 'Cal.com writes by calsync').toBeLessThanOrEqual(4 * outcome.changes + 2)
          // The reconciler's own view agrees: calsync equals Cal.com, but for what an operator already has.
          const plan = await reconcile(true)
          for (const difference of plan.differences) {
            const named = [difference.uid, difference.appointmentId].filter((name): name is string => Boolean(name))
            expect(
              named.some((name) => reviewText.includes(name)),
              `the reconciler finds ${difference.kind}: ${difference.detail}`,
            ).toBe(true)
            reconcileFindings++
          }
          lastFailed = false
        }),
        {
          numRuns: RUNS,
          // Keeps the failing values, the first of them unshrunk.
          verbose: 1,
          ...(SEED === undefined ? {} : { seed: SEED }),
          ...(process.env.CALSYNC_MODEL_PATH ? { path: process.env.CALSYNC_MODEL_PATH } : {}),
          ...(TIME_LIMIT_MS > 0 ? { interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false } : {}),
          reporter: (details) => {
            process.stdout.write(`[model] ${details.numRuns} schedules run, seed ${details.seed}\n`)
            if (details.failed) {
              const cause =
                details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
              // The first failing schedule, as it ran: the one to replay with CALSYNC_MODEL_STEPS.
              const first = JSON.stringify(details.failures[0]?.[0])
              throw new Error(
                `${fc.defaultReportMessage(details)}\nFailed with: ${cause}\nFirst failing schedule: ${first}`,
              )
            }
          },
        },
      )
    },
    Math.max(30 * 60_000, TIME_LIMIT_MS + 15 * 60_000),
  )
})
