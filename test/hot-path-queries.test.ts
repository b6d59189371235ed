import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Db, Document, MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createAppointment,
  customerBooks,
  customerCancels,
  customerMoves,
  settled,
  staff,
} from '../services/calcom-sync/test/defects/support.ts'
import { type ReviewHarness, startReviewHarness } from '../services/review/test/support/review-harness.ts'
import { type Stack, startStack } from './support/stack.ts'
import { futureSlot, TEST_SECRETS } from './support/tenants.ts'

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts', import.meta.url))

/** A query one of the services sent, with the filter it carried. */
interface SeenQuery {
  service: string
  db: string
  collection: string
  command: string
  filter: Document
  sort?: Document
}

/**
 * Collections that hold only work not yet done: reading all of one is reading what is to be
 * done, however long the history grows, so a whole-collection read of one is bounded.
 */
const PENDING_WORK: Record<string, string> = {
  outbox: 'events not yet published; the relay deletes each once JetStream has it',
}

const FILTER_OF: Record<string, (command: Document) => Document[]> = {
  find: (command) => [command.filter ?? {}],
  findAndModify: (command) => [command.query ?? {}],
  update: (command) => (command.updates ?? []).map((update: Document) => update.q ?? {}),
  delete: (command) => (command.deletes ?? []).map((deletion: Document) => deletion.q ?? {}),
  count: (command) => [command.query ?? {}],
  distinct: (command) => [command.query ?? {}],
  aggregate: (command) => [(command.pipeline ?? [])[0]?.$match ?? {}],
}

/** The driver sends a sort as a Map; a plain document prints and explains the same. */
const sortOf = (sort: Document | Map<string, unknown>): Document =>
  sort instanceof Map ? Object.fromEntries(sort) : sort

function watch(client: MongoClient, service: string, seen: SeenQuery[]): () => void {
  const listener = (event: { commandName: string; databaseName: string; command: Document }) => {
    const filters = FILTER_OF[event.commandName]
    if (!filters) return
    const collection = String(event.command[event.commandName])
    for (const filter of filters(event.command)) {
      seen.push({
        service,
        db: event.databaseName,
        collection,
        command: event.commandName,
        filter,
        // The driver sends a sort as a Map.
        ...(event.command.sort ? { sort: sortOf(event.command.sort) } : {}),
      })
    }
  }
  client.on('commandStarted', listener)
  return () => client.off('commandStarted', listener)
}

const isOperatorDoc = (value: unknown): value is Document =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.keys(value).length > 0 &&
  Object.keys(value).every((key) => key.startsWith('$'))

/** The filter with its values blanked: the query's shape, the same whatever ids it names. */
function shapeOf(filter: Document): string {
  const blank = (value: unknown): unknown => {
    if (isOperatorDoc(value)) return Object.fromEntries(Object.entries(value).map(([op, arg]) => [op, blank(arg)]))
    if (Array.isArray(value)) return value.length > 0 && isOperatorDoc(value[0]) ? value.map(shapeObject) : '[…]'
    return '·'
  }
  const shapeObject = (doc: Document): Document =>
    Object.fromEntries(
      Object.keys(doc)
        .sort()
        .map((key) => [
          key,
          key.startsWith('$') && Array.isArray(doc[key]) ? doc[key].map(shapeObject) : blank(doc[key]),
        ]),
    )
  return JSON.stringify(shapeObject(filter)).replaceAll('"', '')
}

interface Plan {
  /** The database narrowed the rows itself (FerretDB pushed the filter down). */
  pushed: boolean
  /** It found them through an index; undefined where the plan cannot tell (FerretDB over SQLite). */
  indexed: boolean | undefined
  /** FerretDB over SQLite: it pushes down `{ _id }` alone and scans for the rest (see below). */
  sqlite: boolean
}

/** What the database does with the query: FerretDB's explain says both; MongoDB's plan shows COLLSCAN or not. */
async function planOf(db: Db, query: SeenQuery): Promise<Plan> {
  // An explain of a collection not made yet says nothing pushed down: make it, as the first write would.
  if ((await db.listCollections({ name: query.collection }).toArray()).length === 0) {
    await db.createCollection(query.collection).catch(() => undefined)
  }
  const plan = await db.command({
    explain: { find: query.collection, filter: query.filter, ...(query.sort ? { sort: query.sort } : {}) },
    verbosity: 'queryPlanner',
  })
  const planner = JSON.stringify(plan.queryPlanner ?? {})
  if ('filterPushdown' in plan) {
    // Over PostgreSQL the planner part is PostgreSQL's own plan.
    const postgres = planner.includes('"Node Type"')
    return {
      pushed: plan.filterPushdown === true,
      indexed: postgres ? !planner.includes('"Seq Scan"') : undefined,
      sqlite: !postgres,
    }
  }
  const scans = JSON.stringify(plan.queryPlanner?.winningPlan ?? {}).includes('COLLSCAN')
  return { pushed: !scans, indexed: !scans, sqlite: false }
}

/** The filter's conditions that are not plain equalities: what the database filters after its lookup. */
const residualOf = (filter: Document): string[] =>
  Object.entries(filter)
    .filter(
      ([key, value]) =>
        key.startsWith('$') || (isOperatorDoc(value) && Object.keys(value).some((op) => op !== '$eq' && op !== '$in')),
    )
    .map(([key]) => key)

/**
 * Every query the hot paths send (a local create, reschedule and cancel pushed to Cal.com and
 * echoed back, a customer's booking, move and cancel applied from webhooks, a sync result
 * recorded by appointments and review, a list window and a lookup), taken from the drivers'
 * command monitoring rather than from a list kept by hand, and each explained on the database:
 * each must be narrowed by the database (on FerretDB, pushed down), so its cost follows what it
 * finds, not the size of the collection (issue 14).
 */
describe('hot-path queries', () => {
  let stack: Stack
  let review: ReviewHarness
  const seen: SeenQuery[] = []
  const unwatch: Array<() => void> = []
  beforeAll(async () => {
    stack = await startStack()
    review = await startReviewHarness({ names: stack.names })
  })
  afterAll(async () => {
    for (const stop of unwatch) stop()
    await review?.close()
    await stack?.close()
  })

  it('are all narrowed by the database', async () => {
    // Warm-up: indexes and first-time records are made before anything is watched.
    const warm = await createAppointment(stack, futureSlot(1, 8))
    await settled(stack)
    await staff(stack, warm.id, 'cancel')
    await settled(stack)

    unwatch.push(
      watch(stack.appointments.db.client, 'appointments', seen),
      watch(stack.syncDb.client, 'calcom-sync', seen),
      watch(review.db.client, 'review', seen),
    )
    const admin = TEST_SECRETS.ACME_ADMIN_TOKEN
    const keyed = await stack.appointments.api(
      admin,
      'POST',
      '/v1/appointments',
      {
        eventTypeId: 1001,
        start: futureSlot(0, 9),
        attendee: { name: 'Ana Silva', email: 'ana@example.org', timeZone: 'UTC' },
      },
      { 'idempotency-key': 'hot-path-1' },
    )
    expect(keyed.statusCode).toBe(201)
    const local = keyed.json() as { id: string }
    await settled(stack)
    await staff(stack, local.id, 'reschedule', futureSlot(0, 11))
    await settled(stack)
    await staff(stack, local.id, 'cancel')
    await settled(stack)
    const booked = await customerBooks(stack, futureSlot(0, 13))
    await settled(stack)
    const moved = await customerMoves(stack, booked.uid, futureSlot(0, 15))
    await settled(stack)
    await customerCancels(stack, moved.uid)
    await settled(stack)
    const window = `from=${encodeURIComponent(futureSlot(0, 0))}&to=${encodeURIComponent(futureSlot(1, 0))}`
    const listed = await stack.appointments.api(admin, 'GET', `/v1/appointments?${window}`)
    expect(listed.statusCode).toBe(200)
    // Both, where they are now (each was filed under its day as it moved there).
    expect(listed.json().items.map((item: { start: string; status: string }) => [item.start, item.status])).toEqual([
      [futureSlot(0, 11), 'cancelled'],
      [futureSlot(0, 15), 'cancelled'],
    ])
    expect((await stack.appointments.api(admin, 'GET', `/v1/appointments/${local.id}`)).statusCode).toBe(200)
    for (const stop of unwatch.splice(0)) stop()

    const byShape = new Map<string, { query: SeenQuery; times: number }>()
    for (const query of seen) {
      const key = `${query.service} ${query.collection} ${query.command} ${shapeOf(query.filter)}`
      const known = byShape.get(key)
      if (known) known.times++
      else byShape.set(key, { query, times: 1 })
    }
    expect(byShape.size).toBeGreaterThan(10)

    const clients: Record<string, MongoClient> = {
      appointments: stack.appointments.db.client,
      'calcom-sync': stack.syncDb.client,
      review: review.db.client,
    }
    const rows: string[] = []
    const scans: string[] = []
    for (const [key, { query, times }] of [...byShape].sort(([a], [b]) => a.localeCompare(b))) {
      const db = (clients[query.service] as MongoClient).db(query.db)
      const pending = Object.keys(query.filter).length === 0 ? PENDING_WORK[query.collection] : undefined
      const plan = await planOf(db, query)
      const residual = residualOf(query.filter)
      // FerretDB over SQLite (where PostgreSQL is not installed) pushes down a filter of `_id`
      // alone and nothing else, and even that plan is a SCAN: the property holds only on
      // PostgreSQL (patched) and MongoDB. There only what SQLite can do is asked of it.
      const idAlone = Object.keys(query.filter).length === 1 && typeof query.filter._id === 'string'
      const narrowed = plan.sqlite
        ? plan.pushed || !idAlone
        : plan.pushed && plan.indexed !== false && residual.length === 0
      const verdict = narrowed
        ? plan.sqlite && !plan.pushed
          ? 'SCAN (SQLite)'
          : plan.indexed
            ? 'index'
            : 'pushed down'
        : pending
          ? 'pending work'
          : plan.pushed
            ? `SCAN (${plan.indexed === false ? 'no index' : `then ${residual.join(', ')}`})`
            : 'SCAN'
      const sort = query.sort ? ` sort ${shapeOf(query.sort)}` : ''
      rows.push(`${verdict.padEnd(14)} ×${String(times).padStart(3)}  ${key}${sort}${pending ? ` (${pending})` : ''}`)
      if (!narrowed && !pending) scans.push(`${key}: ${verdict}`)
    }
    // The list, for reading (and for the issue's note): test-artifacts/hot-path-queries.txt.
    const table = `hot-path queries (${byShape.size} shapes), ${new Date().toISOString()}:\n${rows.join('\n')}\n`
    mkdirSync(ARTIFACTS, { recursive: true })
    writeFileSync(join(ARTIFACTS, 'hot-path-queries.txt'), table)
    expect(scans, table).toEqual([])
  }, 120_000)
})
