// How fast the stack takes changes on the embedded database: local creates from a few clients at
// once (answered, then synced to Cal.com), and a burst of customer bookings' webhooks held at the
// sandbox and released together (applied). The figures to choose the embedded backend by (issue 14).
import type { JetStreamManager } from '@nats-io/jetstream'
import type { RunTenant } from '../lib/run-tenants.ts'
import { type BenchStack, benchSlots, heldWebhookBurst, patientCreate } from './bench-stack.ts'
import { waitSettled } from './settled.ts'

export interface Throughput {
  creates: {
    count: number
    clients: number
    /** From the first request to the last answer. */
    answeredSeconds: number
    answeredPerSecond: number
    /** From the first request until every create is on Cal.com and its echo handled. */
    settledSeconds: number
    settledPerSecond: number
    failed: number
  }
  webhooks: {
    count: number
    /** From the release of the held webhooks until every one is applied. */
    appliedSeconds: number
    appliedPerSecond: number
  }
}

const round = (value: number) => Math.round(value * 100) / 100

export async function benchThroughput(options: {
  stack: BenchStack
  jsm: JetStreamManager
  tenants: RunTenant[]
  count: number
  clients: number
  /** A day of its own (days after 2031-01-01), so the slots are free. */
  day: number
  say: (line: string) => void
}): Promise<Throughput> {
  const { stack, tenants, count, clients } = options
  const slot = benchSlots(tenants, options.day)
  const tenantOf = (index: number) => tenants[index % tenants.length] as RunTenant

  await waitSettled(options.jsm, stack.sandbox.url)
  let next = 0
  let failed = 0
  const started = Date.now()
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let index = next++; index < count; index = next++) {
        const tenant = tenantOf(index)
        const answer = await patientCreate(stack, tenant, slot(index, 0), index)
        if (answer.status !== 201) failed++
      }
    }),
  )
  const answeredSeconds = (Date.now() - started) / 1000
  const settledSeconds = ((await waitSettled(options.jsm, stack.sandbox.url)) - started) / 1000
  options.say(
    `throughput: ${count} creates from ${clients} clients answered in ${answeredSeconds.toFixed(1)} s (${(count / answeredSeconds).toFixed(1)}/s), on Cal.com in ${settledSeconds.toFixed(1)} s (${(count / settledSeconds).toFixed(1)}/s); ${failed} not 201`,
  )

  const appliedSeconds = await heldWebhookBurst(stack, options.jsm, tenants, count, (index) => slot(index, 1))
  options.say(
    `throughput: a burst of ${count} customer webhooks applied in ${appliedSeconds.toFixed(1)} s (${(count / appliedSeconds).toFixed(1)}/s)`,
  )
  return {
    creates: {
      count,
      clients,
      answeredSeconds: round(answeredSeconds),
      answeredPerSecond: round(count / answeredSeconds),
      settledSeconds: round(settledSeconds),
      settledPerSecond: round(count / settledSeconds),
      failed,
    },
    webhooks: { count, appliedSeconds: round(appliedSeconds), appliedPerSecond: round(count / appliedSeconds) },
  }
}
