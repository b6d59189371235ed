// What goes wrong during a chaos run, planned up front from the seed: every service instance is
// SIGKILLed a number of times and started again, NATS and the database are each restarted once,
// and Cal.com answers some of calcom-sync's calls with faults.
import type { RestartableServer } from '@calsync/local-infra'
import type { RunTenant } from '../lib/run-tenants.ts'
import type { AnswerLog } from './answers.ts'
import type { Random } from './chaos-options.ts'
import type { Instance } from './fleet.ts'

export type Disruption =
  | { at: number; kind: 'kill'; instance: string }
  | { at: number; kind: 'restart'; server: 'nats' | 'database' }
  | { at: number; kind: 'calcom-fault'; tenantId: string; path: string; action: Record<string, unknown> }

const WRITE_PATHS = ['^/v2/bookings$', '^/v2/bookings/[^/]+/reschedule$', '^/v2/bookings/[^/]+/cancel$']
const FAULTS: Array<Record<string, unknown>> = [
  { status: 503 },
  { status: 500 },
  { status: 429, resetSeconds: 1 },
  { hang: true },
  { commitThenDrop: true },
  { delayMs: 1500 },
]

/** When (after how many changes) each disruption happens: spread over 5–90 % of the run. */
export function planDisruptions(options: {
  instances: string[]
  killsPerInstance: number
  changes: number
  tenants: RunTenant[]
  random: Random
}): Disruption[] {
  const { random, changes } = options
  const point = () => Math.max(1, Math.floor(changes * (0.05 + 0.85 * random.next())))
  const plan: Disruption[] = []
  for (const instance of options.instances) {
    for (let kill = 0; kill < options.killsPerInstance; kill++) plan.push({ at: point(), kind: 'kill', instance })
  }
  plan.push({ at: Math.max(1, Math.floor(changes * 0.4)), kind: 'restart', server: 'nats' })
  plan.push({ at: Math.max(1, Math.floor(changes * 0.65)), kind: 'restart', server: 'database' })
  for (let at = 10; at < changes; at += 20) {
    const tenant = random.pick(options.tenants)
    plan.push({
      at,
      kind: 'calcom-fault',
      tenantId: tenant.id,
      path: random.pick(WRITE_PATHS),
      action: random.pick(FAULTS),
    })
  }
  return plan.sort((a, b) => a.at - b.at)
}

export function createMonkey(options: {
  plan: Disruption[]
  instances: Instance[]
  servers: { nats: RestartableServer; database: RestartableServer }
  sandboxUrl: string
  answers: AnswerLog
  random: Random
  log: (line: string) => void
}) {
  const counts = { kills: new Map<string, number>(), restarts: { nats: 0, database: 0 }, calcomFaults: 0 }
  let next = 0
  // One disruption at a time: a kill waits for the previous victim to be back.
  let queue: Promise<void> = Promise.resolve()
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  async function perform(step: Disruption) {
    if (step.kind === 'calcom-fault') {
      const body = {
        match: { tenantId: step.tenantId, method: 'POST', path: step.path },
        action: step.action,
        times: 1,
      }
      await fetch(`${options.sandboxUrl}/_sandbox/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      counts.calcomFaults++
      return
    }
    if (step.kind === 'kill') {
      const instance = options.instances.find((candidate) => candidate.name === step.instance)
      if (!instance) return
      await instance.kill()
      counts.kills.set(instance.name, (counts.kills.get(instance.name) ?? 0) + 1)
      options.log(`kill -9 ${instance.name} (after change ${step.at})`)
      await sleep(300 + options.random.int(2200))
      await instance.start()
      return
    }
    const server = options.servers[step.server]
    const ended = options.answers.outage(step.server)
    await server.stop()
    options.log(`${step.server} down (after change ${step.at})`)
    await sleep(1000 + options.random.int(3000))
    await server.start()
    ended()
    counts.restarts[step.server]++
    options.log(`${step.server} back`)
  }

  return {
    counts,
    /** Called after each change: queues the disruptions due by then. */
    reached(done: number) {
      while (next < options.plan.length && (options.plan[next]?.at ?? Infinity) <= done) {
        const step = options.plan[next++] as Disruption
        if (step.kind === 'calcom-fault') void perform(step).catch(() => undefined)
        else queue = queue.then(() => perform(step)).catch((error) => options.log(`disruption failed: ${error}`))
      }
    },
    /** Waits for the last queued disruption to finish (every process back up). */
    async finish() {
      this.reached(Number.POSITIVE_INFINITY)
      await queue
    },
  }
}
