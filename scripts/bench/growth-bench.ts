// Whether a change costs the same with a clinic's history in the database: creates, a burst of
// webhooks and list windows measured with a small and then a large number of appointments in
// the database, as ratios large/small (issue 14). The history is seeded straight into the
// databases: copies of the documents real changes wrote (one per tenant, through the stack),
// each under an id of its own, on a past day of its own, without the slot claims retention
// would have pruned by then.
import type { JetStreamManager } from '@nats-io/jetstream'
import { BSON, type Document, MongoClient } from 'mongodb'
import type { RunTenant } from '../lib/run-tenants.ts'
import { type BenchStack, benchSlots, heldWebhookBurst, patientCreate, tenantApi } from './bench-stack.ts'
import { waitSettled } from './settled.ts'

export interface GrowthRound {
  appointments: number
  create: { count: number; p50Ms: number; meanMs: number; failed: number }
  webhooks: { count: number; appliedSeconds: number; appliedPerSecond: number }
  listWindow: { count: number; p50Ms: number; meanMs: number; items: number }
}

export interface Growth {
  rounds: [GrowthRound, GrowthRound]
  /** large / small: of create p50 and list-window p50 time, and of webhooks applied per second (inverted). */
  ratios: { create: number; webhookApply: number; listWindow: number }
  seeding: { documents: number; seconds: number }
}

const round = (value: number) => Math.round(value * 100) / 100
const DAY_MS = 86_400_000
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length)

/** Every document of the two databases that belongs to one of these appointments (or their bookings). */
interface Template {
  appointmentId: string
  tenantId: string
  day: string
  /** Its Cal.com booking uids, also in keys (calcom_links): each copy gets its own. */
  uids: string[]
  docs: Array<{ db: string; collection: string; json: string }>
}

/** Collections a copy leaves out: claims (pruned for past days), and what the seeder writes itself. */
const NOT_COPIED = new Set(['slot_claims', 'appointment_days', 'store_markers', 'idempotency_keys', 'outbox'])

async function templatesOf(client: MongoClient, appointmentIds: Map<string, string>): Promise<Template[]> {
  const templates = new Map<string, Template>()
  for (const [appointmentId, tenantId] of appointmentIds) {
    templates.set(appointmentId, { appointmentId, tenantId, day: '', uids: [], docs: [] })
  }
  for (const dbName of ['calsync_appointments', 'calsync_sync']) {
    const db = client.db(dbName)
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      if (NOT_COPIED.has(name)) continue
      for (const doc of await db.collection(name).find({}).toArray()) {
        const json = BSON.EJSON.stringify(doc, { relaxed: false })
        const owner = [...templates.keys()].find((id) => json.includes(id))
        if (!owner) continue
        const template = templates.get(owner) as Template
        template.docs.push({ db: dbName, collection: name, json })
        if (name === 'appointments') template.day = String((doc as Document).start).slice(0, 10)
        if (name === 'calcom_links') template.uids.push(String((doc as Document).uid))
      }
    }
  }
  return [...templates.values()].filter((template) => template.day !== '')
}

/** Copies of the templates until the appointments number `target`, each on a past day of its own. */
async function seed(
  client: MongoClient,
  templates: Template[],
  from: number,
  target: number,
  /** The copies go on the days before this one (the measured changes' days are after it). */
  before: number,
  /** The next free slot of each `tenant|day` (appointment-days.ts), across calls. */
  nextSlot: Map<string, number>,
): Promise<number> {
  let documents = 0
  const batches = new Map<string, Document[]>()
  const days = new Map<string, { tenantId: string; day: string; ids: string[] }>()
  const flush = async () => {
    for (const [key, docs] of batches) {
      const [db, collection] = key.split(' ') as [string, string]
      if (docs.length > 0) await client.db(db).collection(collection).insertMany(docs, { ordered: false })
      documents += docs.length
    }
    batches.clear()
    const slots = [...days].flatMap(([key, group]) =>
      group.ids.map((appointmentId) => {
        const slot = nextSlot.get(key) ?? 0
        nextSlot.set(key, slot + 1)
        return { _id: `${key}#${slot}`, set: key, tenantId: group.tenantId, value: appointmentId }
      }),
    )
    if (slots.length > 0) {
      await client.db('calsync_appointments').collection<{ _id: string }>('appointment_days').insertMany(slots)
    }
    documents += slots.length
    days.clear()
  }
  for (let n = from; n < target; n++) {
    const template = templates[n % templates.length] as Template
    const copy = `${template.appointmentId}h${n}`
    // A past day: back from the template's, a year's worth of days, then round again.
    const day = new Date(before - (1 + (((n / templates.length) | 0) % 365)) * DAY_MS).toISOString().slice(0, 10)
    for (const doc of template.docs) {
      let json = doc.json.replaceAll(template.appointmentId, copy).replaceAll(template.day, day)
      for (const uid of template.uids) json = json.replaceAll(uid, `${uid}h${n}`)
      const key = `${doc.db} ${doc.collection}`
      const batch = batches.get(key) ?? []
      batch.push(BSON.EJSON.parse(json, { relaxed: false }) as Document)
      batches.set(key, batch)
    }
    const dayKey = `${template.tenantId}|${day}`
    const group = days.get(dayKey) ?? { tenantId: template.tenantId, day, ids: [] }
    group.ids.push(copy)
    days.set(dayKey, group)
    if ((n - from) % 500 === 499) await flush()
  }
  await flush()
  return documents
}

async function measure(options: {
  stack: BenchStack
  jsm: JetStreamManager
  tenants: RunTenant[]
  appointments: number
  count: number
  day: number
  say: (line: string) => void
}): Promise<GrowthRound> {
  const { stack, tenants, count } = options
  const tenantOf = (index: number) => tenants[index % tenants.length] as RunTenant
  const slot = benchSlots(tenants, options.day)
  await waitSettled(options.jsm, stack.sandbox.url)

  // One create at a time, each timed to its answer; then the stack settles (sync, echo).
  const createMs: number[] = []
  let failed = 0
  for (let index = 0; index < count; index++) {
    const tenant = tenantOf(index)
    const started = performance.now()
    const answer = await patientCreate(stack, tenant, slot(index, 0), index)
    createMs.push(performance.now() - started)
    if (answer.status !== 201) failed++
  }
  await waitSettled(options.jsm, stack.sandbox.url)

  const appliedSeconds = await heldWebhookBurst(stack, options.jsm, tenants, count, (index) => slot(index, 1))

  // A day's window of one tenant, the two days just booked: the same rows at both sizes.
  const listMs: number[] = []
  let items = 0
  const from = new Date(Date.UTC(2031, 0, 1 + options.day)).toISOString()
  const to = new Date(Date.UTC(2031, 0, 3 + options.day)).toISOString()
  for (let index = 0; index < 50; index++) {
    const tenant = tenantOf(index)
    const started = performance.now()
    const answer = await tenantApi(stack, tenant)(
      'GET',
      `/v1/appointments?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&limit=100`,
    )
    listMs.push(performance.now() - started)
    if (answer.status !== 200) throw new Error(`list window answered ${answer.status}`)
    items += (answer.json.items as unknown[]).length
  }
  const figures: GrowthRound = {
    appointments: options.appointments,
    create: { count, p50Ms: round(median(createMs)), meanMs: round(mean(createMs)), failed },
    webhooks: { count, appliedSeconds: round(appliedSeconds), appliedPerSecond: round(count / appliedSeconds) },
    listWindow: { count: listMs.length, p50Ms: round(median(listMs)), meanMs: round(mean(listMs)), items },
  }
  options.say(
    `growth at ${options.appointments} appointments: create p50 ${figures.create.p50Ms} ms (mean ${figures.create.meanMs}, ${failed} not 201); ${count} webhooks applied at ${figures.webhooks.appliedPerSecond}/s; list window p50 ${figures.listWindow.p50Ms} ms (${items / listMs.length} items)`,
  )
  return figures
}

export async function benchGrowth(options: {
  stack: BenchStack
  jsm: JetStreamManager
  mongoUrl: string
  tenants: RunTenant[]
  sizes: [number, number]
  count: number
  /** Days of its own (days after 2031-01-01) for the measured changes, so their slots are free. */
  day: number
  say: (line: string) => void
}): Promise<Growth> {
  const { stack, tenants } = options
  const client = new MongoClient(options.mongoUrl)
  await client.connect()
  try {
    // One real appointment per tenant, synced to Cal.com and echoed back: the templates.
    const created = new Map<string, string>()
    for (const [index, tenant] of tenants.entries()) {
      const start = new Date(Date.UTC(2031, 0, 1 + options.day + 30, 8)).toISOString()
      const answer = await patientCreate(stack, tenant, start, index)
      if (answer.status !== 201) throw new Error(`template create answered ${answer.status}`)
      created.set(String(answer.json.id), tenant.id)
    }
    await waitSettled(options.jsm, stack.sandbox.url)
    const templates = await templatesOf(client, created)
    options.say(
      `growth: ${templates.length} templates, ${templates.reduce((sum, t) => sum + t.docs.length, 0) / Math.max(1, templates.length)} documents each`,
    )
    const appointments = () => client.db('calsync_appointments').collection('appointments').countDocuments({})
    const seeded = { documents: 0, seconds: 0 }
    const nextSlot = new Map<string, number>()
    const seedTo = async (target: number) => {
      const started = Date.now()
      const have = await appointments()
      seeded.documents += await seed(client, templates, have, target, Date.UTC(2031, 0, 1 + options.day), nextSlot)
      seeded.seconds += (Date.now() - started) / 1000
      options.say(`growth: seeded to ${await appointments()} appointments`)
    }
    const [small, large] = options.sizes
    await seedTo(small)
    const first = await measure({ ...options, appointments: await appointments(), day: options.day })
    await seedTo(large)
    const second = await measure({ ...options, appointments: await appointments(), day: options.day + 5 })
    return {
      rounds: [first, second],
      ratios: {
        create: round(second.create.p50Ms / first.create.p50Ms),
        webhookApply: round(first.webhooks.appliedPerSecond / second.webhooks.appliedPerSecond),
        listWindow: round(second.listWindow.p50Ms / first.listWindow.p50Ms),
      },
      seeding: { documents: seeded.documents, seconds: round(seeded.seconds) },
    }
  } finally {
    await client.close()
  }
}
