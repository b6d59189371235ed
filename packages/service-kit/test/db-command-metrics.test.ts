import { connectMongo, createServiceMetrics, dbCommandTarget } from '@calsync/service-kit'
import { describe, expect, it } from 'vitest'
import { mongoUrl, uniqueDbName } from '../../../test/support/infra.ts'

describe('database commands, counted', () => {
  it.each([
    [{ commandName: 'find', command: { find: 'appointments', filter: {} } }, 'find', 'appointments'],
    [{ commandName: 'insert', command: { insert: 'slot_claims', documents: [] } }, 'insert', 'slot_claims'],
    [{ commandName: 'findAndModify', command: { findAndModify: 'locks' } }, 'findAndModify', 'locks'],
    [{ commandName: 'getMore', command: { getMore: 42, collection: 'events' } }, 'getMore', 'events'],
    [{ commandName: 'aggregate', command: { aggregate: 1, pipeline: [] } }, 'aggregate', ''],
    [{ commandName: 'ping', command: { ping: 1 } }, 'ping', ''],
  ])('labels %j as %s on "%s"', (event, command, collection) => {
    expect(dbCommandTarget(event)).toEqual({ command, collection })
  })

  it('counts what a client with a meter sends, by service, command and collection', async () => {
    const metrics = createServiceMetrics({ serviceName: 'appointments' })
    const client = await connectMongo(mongoUrl(), 'appointments', metrics.meter)
    const plain = await connectMongo(mongoUrl(), 'appointments')
    try {
      const db = client.db(uniqueDbName('dbcommands'))
      const notes = db.collection<{ _id: string; n: number }>('notes')
      await notes.insertMany([
        { _id: 'a', n: 1 },
        { _id: 'b', n: 2 },
      ])
      await notes.findOne({ _id: 'a' })
      await notes.updateOne({ _id: 'b' }, { $set: { n: 3 } })
      // Another client without a meter is not counted.
      await plain.db(db.databaseName).collection<{ _id: string }>('notes').findOne({ _id: 'b' })
      const text = await metrics.scrape()
      const count = (command: string) =>
        Number(
          text.match(
            new RegExp(
              `calsync_db_commands_total\\{service="appointments",command="${command}",collection="notes"\\} (\\d+)`,
            ),
          )?.[1] ?? 0,
        )
      expect([count('insert'), count('find'), count('update')]).toEqual([1, 1, 1])
      await db.dropDatabase()
    } finally {
      await client.close()
      await plain.close()
      await metrics.shutdown()
    }
  })
})
