import { mkdirSync } from 'node:fs'
import { streamDefinitions } from '@calsync/contracts'
import { ensureStream } from '@calsync/service-kit'
import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connectTestMongo,
  connectTestNats,
  eventually,
  uniqueDbName,
  uniqueNames,
} from '../../../test/support/infra.ts'
import { LOG_DIR } from '../../../test/support/logs.ts'
import { startServiceProcess } from '../../../test/support/service-process.ts'
import { readStream } from '../../../test/support/streams.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'

describe('crash between the database write and the publish', () => {
  let nc: NatsConnection
  let mongo: MongoClient
  beforeAll(async () => {
    mkdirSync(LOG_DIR, { recursive: true })
    nc = await connectTestNats()
    mongo = await connectTestMongo()
  })
  afterAll(async () => {
    await nc.drain()
    await mongo.close()
  })

  it('publishes the event exactly once after a restart (DESIGN §5)', async () => {
    const names = uniqueNames()
    const dbName = uniqueDbName('crash')
    const options = { names, dbName, portVariable: 'APPOINTMENTS_PORT' }
    const jsm = await jetstreamManager(nc)
    const stream = streamDefinitions(names).appointments
    await ensureStream(jsm, stream)

    const doomed = await startServiceProcess('appointments', {
      ...options,
      env: { CALSYNC_FAULT_INJECTION: 'exit-after-event-write' },
    })
    const request = fetch(`http://127.0.0.1:${doomed.port}/v1/appointments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_SECRETS.ACME_PHONE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        eventTypeId: 1001,
        start: futureSlot(0, 10),
        attendee: { name: 'Kim', email: 'kim@example.org', timeZone: 'UTC' },
      }),
    })
    await expect(request).rejects.toThrow()
    expect(await doomed.exited).not.toBe(0)

    // The change is durable, not yet published: its event is written and waits in the outbox.
    const events = mongo.db(dbName).collection('appointment_events')
    const outbox = mongo.db(dbName).collection('outbox')
    const [written] = await events.find({}).toArray()
    expect(written).toMatchObject({ version: 1 })
    expect(await outbox.countDocuments({})).toBe(1)
    expect((await jsm.streams.info(stream.name)).state.messages).toBe(0)

    const restarted = await startServiceProcess('appointments', options)
    const published = await eventually('the event to be published', async () => {
      const messages = await readStream(jsm, stream.name)
      return messages.length > 0 ? messages : undefined
    })
    expect(published).toHaveLength(1)
    expect(published[0]?.msgId).toBe(written?._id)
    const appointmentId = (published[0]?.body as { appointmentId: string } | undefined)?.appointmentId
    // The appointment reads as written although the dead process never wrote its projection.
    const read = await fetch(`http://127.0.0.1:${restarted.port}/v1/appointments/${appointmentId}`, {
      headers: { authorization: `Bearer ${TEST_SECRETS.ACME_PHONE_TOKEN}` },
    })
    expect(read.status).toBe(200)
    expect(await read.json()).toMatchObject({ id: appointmentId, version: 1, origin: 'retell' })
    await restarted.managed.stop()

    // A second restart publishes nothing again.
    const again = await startServiceProcess('appointments', options)
    await eventually('the relay pass', async () => ((await outbox.countDocuments({})) === 0 ? true : undefined))
    expect(await readStream(jsm, stream.name)).toHaveLength(1)
    await again.managed.stop()
    await mongo.db(dbName).dropDatabase()
  }, 60_000)
})
