// Database commands per change, from each service's own `calsync_db_commands_total`: per local
// create (the API's, the sync's, the result's and the echo's), and per customer booking applied
// from its webhook. What the services send while idle (relay polls, sweeps, lease renewals) is
// measured first and taken off, at its rate over the section's time.
import type { JetStreamManager } from '@nats-io/jetstream'
import type { RunTenant } from '../lib/run-tenants.ts'
import { type BenchStack, benchSlots, customerBookingOf, difference, patientCreate, total } from './bench-stack.ts'
import { waitSettled } from './settled.ts'

export interface CommandsPerChange {
  /** By service, then `command collection`: commands per change (idle rate taken off). */
  perCreate: Record<string, Record<string, number>>
  perWebhookApplied: Record<string, Record<string, number>>
  totals: { perCreate: number; perCreateInAppointments: number; perSync: number; perWebhookApplied: number }
  idlePerSecond: Record<string, number>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const round = (value: number) => Math.round(value * 100) / 100

export async function benchCommands(options: {
  stack: BenchStack
  jsm: JetStreamManager
  tenants: RunTenant[]
  count: number
  /** A day of its own (days after 2031-01-01), so the slots are free. */
  day: number
  say: (line: string) => void
}): Promise<CommandsPerChange> {
  const { stack, tenants, count } = options
  const services = { appointments: stack.appointments, 'calcom-sync': stack.sync }
  const snapshot = async () =>
    Object.fromEntries(
      await Promise.all(
        Object.entries(services).map(async ([name, instance]) => [name, await stack.dbCommands(instance)]),
      ),
    ) as Record<string, Map<string, number>>

  await waitSettled(options.jsm, stack.sandbox.url)
  const idleStart = await snapshot()
  const idleStarted = Date.now()
  await sleep(10_000)
  const idleEnd = await snapshot()
  const idleSeconds = (Date.now() - idleStarted) / 1000
  const idle = Object.fromEntries(
    Object.keys(services).map((name) => [
      name,
      difference(idleStart[name] as Map<string, number>, idleEnd[name] as Map<string, number>),
    ]),
  ) as Record<string, Map<string, number>>

  /** What `work` cost per change in commands, each service's idle rate over the time taken off. */
  async function perChange(work: () => Promise<void>) {
    const before = await snapshot()
    const started = Date.now()
    await work()
    await waitSettled(options.jsm, stack.sandbox.url)
    const seconds = (Date.now() - started) / 1000
    const after = await snapshot()
    const result: Record<string, Record<string, number>> = {}
    for (const name of Object.keys(services)) {
      const spent = difference(before[name] as Map<string, number>, after[name] as Map<string, number>)
      const background = idle[name] as Map<string, number>
      const per: Record<string, number> = {}
      for (const key of new Set([...spent.keys(), ...background.keys()])) {
        const value = ((spent.get(key) ?? 0) - ((background.get(key) ?? 0) * seconds) / idleSeconds) / count
        if (Math.abs(value) >= 0.01) per[key] = round(value)
      }
      result[name] = per
    }
    return result
  }
  const slot = benchSlots(tenants, options.day)

  const perCreate = await perChange(async () => {
    for (let index = 0; index < count; index++) {
      const tenant = tenants[index % tenants.length] as RunTenant
      const answer = await patientCreate(stack, tenant, slot(index, 0), index)
      if (answer.status !== 201) throw new Error(`create answered ${answer.status}: ${JSON.stringify(answer.json)}`)
    }
  })
  const perWebhookApplied = await perChange(async () => {
    for (let index = 0; index < count; index++) {
      await customerBookingOf(stack, tenants[index % tenants.length] as RunTenant, slot(index, 1))
    }
  })
  const sum = (record: Record<string, number> | undefined) => round(total(new Map(Object.entries(record ?? {}))))
  const totals = {
    perCreate: round(sum(perCreate.appointments) + sum(perCreate['calcom-sync'])),
    perCreateInAppointments: sum(perCreate.appointments),
    perSync: sum(perCreate['calcom-sync']),
    perWebhookApplied: round(sum(perWebhookApplied.appointments) + sum(perWebhookApplied['calcom-sync'])),
  }
  options.say(
    `database commands: ${totals.perCreate} per create (appointments ${totals.perCreateInAppointments}, calcom-sync ${totals.perSync}), ${totals.perWebhookApplied} per webhook applied`,
  )
  return {
    perCreate,
    perWebhookApplied,
    totals,
    idlePerSecond: Object.fromEntries(
      Object.entries(idle).map(([name, counts]) => [name, round(total(counts) / idleSeconds)]),
    ),
  }
}
