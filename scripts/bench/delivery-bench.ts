// How soon a local change reaches Cal.com, and how fast a backlog of them drains (issue 14):
// `latency` sends creates open-loop at fixed rates over all tenants and takes, for each, the time
// from its request to the booking's creation on the sandbox, against direct calls to the sandbox;
// `drain` stops calcom-sync for a while, makes changes meanwhile, starts it again, and compares
// the rate the backlog reaches Cal.com with the ceiling the tenants' call budgets allow.
import { CALSYNC_METADATA } from '@calsync/contracts'
import type { JetStreamManager } from '@nats-io/jetstream'
import type { RunTenant } from '../lib/run-tenants.ts'
import { type BenchStack, customerBookingOf, patientCreate } from './bench-stack.ts'
import { waitSettled } from './settled.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const round = (value: number) => Math.round(value * 100) / 100

export interface Percentiles {
  count: number
  p50Ms: number
  p95Ms: number
  p99Ms: number
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0)
  return { count: sorted.length, p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99) }
}

interface SandboxBooking {
  uid: string
  createdAt: string
  metadata: Record<string, string>
}

interface SandboxRequest {
  method: string
  path: string
  status: number | null
}

async function sandboxGet<T>(stack: BenchStack, path: string): Promise<T> {
  const response = await fetch(`${stack.sandbox.url}${path}`)
  if (!response.ok) throw new Error(`sandbox ${path} answered ${response.status}`)
  return (await response.json()) as T
}

/** When each appointment's first booking was created on the sandbox, by appointment id. */
async function bookedAt(stack: BenchStack): Promise<Map<string, number>> {
  const found = new Map<string, number>()
  for (const booking of await sandboxGet<SandboxBooking[]>(stack, '/_sandbox/bookings')) {
    const id = booking.metadata?.[CALSYNC_METADATA.appointmentId]
    if (!id) continue
    const at = Date.parse(booking.createdAt)
    if (!found.has(id) || at < (found.get(id) as number)) found.set(id, at)
  }
  return found
}

/**
 * Sends `total` creates at `perSecond`, each at its time whatever the earlier ones are doing (an
 * open loop), and waits for their answers: when each appointment's request left, and how many
 * were not 201.
 */
async function openLoop(total: number, perSecond: number, create: (index: number) => Promise<string | undefined>) {
  const sentAt = new Map<string, number>()
  let failed = 0
  const started = Date.now()
  const inFlight: Promise<void>[] = []
  for (let index = 0; index < total; index++) {
    await sleep(Math.max(0, started + (index * 1000) / perSecond - Date.now()))
    const sent = Date.now()
    inFlight.push(
      create(index).then((id) => {
        if (id) sentAt.set(id, sent)
        else failed++
      }),
    )
  }
  await Promise.all(inFlight)
  return { sentAt, failed }
}

/** A create for slot `index` of a day of its own (days after 2031-01-01), from the tenant `index` picks. */
function creator(stack: BenchStack, tenants: RunTenant[], day: number) {
  return async (index: number) => {
    const tenant = tenants[index % tenants.length] as RunTenant
    const start = new Date(Date.UTC(2031, 0, 1 + day) + Math.floor(index / tenants.length) * 30 * 60_000).toISOString()
    const answer = await patientCreate(stack, tenant, start, index)
    return answer.status === 201 ? String(answer.json.id) : undefined
  }
}

export interface Latency {
  direct: Percentiles
  rates: Array<{ perSecond: number; seconds: number; failed: number; toCalcom: Percentiles; ratioP50: number }>
}

export async function benchLatency(options: {
  stack: BenchStack
  jsm: JetStreamManager
  tenants: RunTenant[]
  rates: number[]
  seconds: number
  day: number
  say: (line: string) => void
}): Promise<Latency> {
  const { stack, tenants } = options
  await waitSettled(options.jsm, stack.sandbox.url)
  // The baseline: the same booking, made by a direct call to the sandbox.
  const directMs: number[] = []
  for (let index = 0; index < 50; index++) {
    const tenant = tenants[index % tenants.length] as RunTenant
    const start = new Date(Date.UTC(2031, 0, 1 + options.day) + index * 30 * 60_000).toISOString()
    const started = performance.now()
    await customerBookingOf(stack, tenant, start)
    directMs.push(performance.now() - started)
  }
  const direct = percentiles(directMs)
  await waitSettled(options.jsm, stack.sandbox.url)
  const rates: Latency['rates'] = []
  for (const [n, perSecond] of options.rates.entries()) {
    const create = creator(stack, tenants, options.day + 1 + n)
    const total = Math.round(perSecond * options.seconds)
    const { sentAt, failed } = await openLoop(total, perSecond, create)
    await waitSettled(options.jsm, stack.sandbox.url)
    const booked = await bookedAt(stack)
    const toCalcom = percentiles(
      [...sentAt].flatMap(([id, sent]) => (booked.has(id) ? [(booked.get(id) as number) - sent] : [])),
    )
    rates.push({
      perSecond,
      seconds: options.seconds,
      failed,
      toCalcom,
      ratioP50: round(toCalcom.p50Ms / direct.p50Ms),
    })
    options.say(
      `latency at ${perSecond} creates/s for ${options.seconds} s: request → booking on Cal.com p50 ${toCalcom.p50Ms} ms, p95 ${toCalcom.p95Ms}, p99 ${toCalcom.p99Ms} (${toCalcom.count} of ${total}; ${failed} not 201); a direct call p50 ${direct.p50Ms} ms, p99 ${direct.p99Ms}`,
    )
  }
  return { direct, rates }
}

export interface Drain {
  outageSeconds: number
  changes: number
  failed: number
  drainSeconds: number
  perSecond: number
  /** Cal.com calls per second all tenants' budgets allow together, over a long run. */
  ceilingPerSecond: number
  /**
   * The least time the budgets allow for the backlog: a budget of N calls in any 60 s passes a
   * tenant's first N at once and each further N a minute later.
   */
  budgetSeconds: number
  /** budgetSeconds / drainSeconds: 1 is draining as fast as the budgets allow (0 when they never bind). */
  fractionOfCeiling: number
  calcomCalls: number
  callsPerChange: number
  sandbox429s: number
}

export async function benchDrain(options: {
  stack: BenchStack
  jsm: JetStreamManager
  tenants: RunTenant[]
  /** How long calcom-sync stays down, changes arriving meanwhile at `perSecond`. */
  outageSeconds: number
  perSecond: number
  callsPerMinute: number
  day: number
  say: (line: string) => void
}): Promise<Drain> {
  const { stack, tenants } = options
  await waitSettled(options.jsm, stack.sandbox.url)
  const requestsBefore = (await sandboxGet<SandboxRequest[]>(stack, '/_sandbox/requests')).length
  await stack.sync.stop()
  const create = creator(stack, tenants, options.day)
  const total = Math.round(options.perSecond * options.outageSeconds)
  const started = Date.now()
  const { sentAt, failed } = await openLoop(total, options.perSecond, create)
  const ids = [...sentAt.keys()]
  await sleep(Math.max(0, started + options.outageSeconds * 1000 - Date.now()))
  await stack.sync.start()
  const restarted = Date.now()
  // Drained once every change made meanwhile has its booking.
  for (;;) {
    const booked = await bookedAt(stack)
    if (ids.every((id) => booked.has(id))) break
    if (Date.now() - restarted > 600_000) throw new Error('the backlog did not drain within 10 minutes')
    await sleep(250)
  }
  const drainSeconds = (Date.now() - restarted) / 1000
  await waitSettled(options.jsm, stack.sandbox.url)
  const requests = (await sandboxGet<SandboxRequest[]>(stack, '/_sandbox/requests')).slice(requestsBefore)
  const calcomCalls = requests.filter((request) => request.path.startsWith('/v2/')).length
  const ceilingPerSecond = (tenants.length * options.callsPerMinute) / 60
  const perSecond = ids.length / drainSeconds
  const perTenant = calcomCalls / tenants.length
  const budgetSeconds = Math.floor(Math.max(0, perTenant - 1) / options.callsPerMinute) * 60
  const figures: Drain = {
    outageSeconds: options.outageSeconds,
    changes: ids.length,
    failed,
    drainSeconds: round(drainSeconds),
    perSecond: round(perSecond),
    ceilingPerSecond: round(ceilingPerSecond),
    budgetSeconds,
    fractionOfCeiling: round(budgetSeconds / drainSeconds),
    calcomCalls,
    callsPerChange: round(calcomCalls / Math.max(1, ids.length)),
    sandbox429s: requests.filter((request) => request.status === 429).length,
  }
  options.say(
    `drain: ${ids.length} creates made during a ${options.outageSeconds} s calcom-sync outage reached Cal.com in ${figures.drainSeconds} s after its restart (${figures.perSecond}/s; the budgets allow it in ${budgetSeconds} s at the least: ${figures.fractionOfCeiling} of their pace); ${calcomCalls} Cal.com calls (${figures.callsPerChange} per create), ${figures.sandbox429s} answered 429`,
  )
  return figures
}
