// What the embedded database does with the query shapes calsync uses, at two collection sizes:
// whether FerretDB pushes each filter down (its explain output says so), and how the time of one
// lookup grows with the collection. It decides how hot-path data must be laid out (issue 14).
import { type Collection, MongoClient } from 'mongodb'

interface Shape {
  name: string
  run: (collection: Collection<LookupDoc>, index: number) => Promise<unknown>
  explain: (collection: Collection<LookupDoc>) => Promise<Record<string, unknown>>
}

interface LookupDoc {
  _id: string
  tenantId: string
  day: string
  minute: number
  pad: string
}

const TENANTS = 97

const shapes: Shape[] = [
  {
    name: '_id equality',
    run: (c, i) => c.findOne({ _id: `k${i}` }),
    explain: (c) => c.find({ _id: 'k1' }).explain(),
  },
  {
    name: 'field equality',
    run: (c, i) => c.find({ tenantId: `t${i % TENANTS}` }).toArray(),
    explain: (c) => c.find({ tenantId: 't1' }).explain(),
  },
  {
    name: 'range',
    run: (c, i) => c.find({ minute: { $gte: i, $lt: i + 30 } }).toArray(),
    explain: (c) => c.find({ minute: { $gte: 1, $lt: 31 } }).explain(),
  },
  {
    name: '_id $in',
    run: (c, i) => c.find({ _id: { $in: [`k${i}`, `k${i + 1}`] } }).toArray(),
    explain: (c) => c.find({ _id: { $in: ['k1', 'k2'] } }).explain(),
  },
  {
    name: 'sort + limit',
    run: (c) => c.find({}).sort({ minute: 1 }).limit(100).toArray(),
    explain: (c) => c.find({}).sort({ minute: 1 }).limit(100).explain(),
  },
]

export interface LookupFigures {
  sizes: [number, number]
  shapes: Array<{
    name: string
    pushdown: { filter: unknown; sort: unknown; limit: unknown }
    msPerLookup: [number, number]
    ratio: number
  }>
}

async function fill(collection: Collection<LookupDoc>, size: number): Promise<void> {
  await collection.drop().catch(() => undefined)
  for (let start = 0; start < size; start += 1000) {
    const docs = Array.from({ length: Math.min(1000, size - start) }, (_, offset) => {
      const n = start + offset
      return { _id: `k${n}`, tenantId: `t${n % TENANTS}`, day: `d${n % 365}`, minute: n, pad: 'x'.repeat(300) }
    })
    await collection.insertMany(docs)
  }
  await collection.createIndex({ tenantId: 1 })
  await collection.createIndex({ minute: 1 })
}

async function timePerLookup(collection: Collection<LookupDoc>, shape: Shape, size: number): Promise<number> {
  const runs = 40
  await shape.run(collection, 0)
  const started = performance.now()
  for (let i = 0; i < runs; i++) await shape.run(collection, (i * 7919) % size)
  return (performance.now() - started) / runs
}

export async function benchLookups(options: {
  mongoUrl: string
  sizes: [number, number]
  say: (line: string) => void
}): Promise<LookupFigures> {
  const client = new MongoClient(options.mongoUrl)
  await client.connect()
  try {
    const db = client.db('calsync_bench_lookups')
    const times = new Map<string, number[]>()
    const pushdowns = new Map<string, LookupFigures['shapes'][number]['pushdown']>()
    for (const size of options.sizes) {
      const collection = db.collection<LookupDoc>(`docs_${size}`)
      await fill(collection, size)
      for (const shape of shapes) {
        times.set(shape.name, [...(times.get(shape.name) ?? []), await timePerLookup(collection, shape, size)])
        const plan = await shape.explain(collection)
        pushdowns.set(shape.name, { filter: plan.filterPushdown, sort: plan.sortPushdown, limit: plan.limitPushdown })
      }
      options.say(`lookups: ${size} documents timed`)
    }
    await db.dropDatabase()
    return {
      sizes: options.sizes,
      shapes: shapes.map((shape) => {
        const [small = 0, large = 0] = times.get(shape.name) ?? []
        return {
          name: shape.name,
          pushdown: pushdowns.get(shape.name) ?? { filter: undefined, sort: undefined, limit: undefined },
          msPerLookup: [small, large],
          ratio: large / small,
        }
      }),
    }
  } finally {
    await client.close()
  }
}
