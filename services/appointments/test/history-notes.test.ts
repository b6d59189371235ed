import type { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectTestMongo, uniqueDbName } from '../../../test/support/infra.ts'
import { createAppointmentsStore, type EventDoc } from '../src/appointments/appointments-store.ts'
import { createAppointmentHistory } from '../src/history/appointment-history.ts'
import type { HistoryEntry } from '../src/history/history-entries.ts'

const TENANT = 'acme-dental'

const entry = (n: number): HistoryEntry => ({
  at: new Date(Date.UTC(2031, 2, 4, 9, n)).toISOString(),
  what: 'sync_attempt',
  who: 'calcom-sync',
  version: 1,
  bookingUid: null,
  detail: `attempt ${n}`,
  traceId: null,
})

/** The notes of an appointment's story (what changed no version), on the database. */
describe('history notes', () => {
  let mongo: MongoClient
  beforeAll(async () => {
    mongo = await connectTestMongo()
  })
  afterAll(() => mongo.close())

  async function fixture() {
    const db = mongo.db(uniqueDbName('history'))
    const store = createAppointmentsStore(db)
    const snapshot = { id: 'apt_h', tenantId: TENANT, version: 1, start: '2031-03-04T09:00:00.000Z' }
    await store.events.insertOne({
      _id: 'apt_h:v1',
      type: 'appointment.booked',
      tenantId: TENANT,
      appointmentId: 'apt_h',
      version: 1,
      origin: 'admin',
      occurredAt: '2031-03-04T08:00:00.000Z',
      snapshot,
      initiatedBy: { origin: 'admin', via: 'token:3f2a9c1d' },
      trace: {},
    } as unknown as EventDoc)
    return { db, history: createAppointmentHistory({ db, store }) }
  }

  it('keeps every note made at once (a consumer each, say), and a redelivered one once', async () => {
    const { db, history } = await fixture()
    const notes = Array.from({ length: 8 }, (_, n) => entry(n))
    await Promise.all(notes.map((note) => history.note(TENANT, 'apt_h', note)))
    await history.note(TENANT, 'apt_h', entry(3))
    const read = (await history.read(TENANT, 'apt_h')) ?? []
    expect(read.filter((line) => line.what === 'sync_attempt').map((line) => line.detail)).toEqual(
      notes.map((note) => note.detail),
    )
    expect(await history.read('other-clinic', 'apt_h')).toBeUndefined()
    await db.dropDatabase()
  })

  it('still reads the notes written as one document per appointment before slots', async () => {
    const { db, history } = await fixture()
    await db
      .collection('appointment_history')
      .insertOne({ _id: 'apt_h' as never, tenantId: TENANT, entries: [entry(1)] })
    await history.note(TENANT, 'apt_h', entry(2))
    const read = (await history.read(TENANT, 'apt_h')) ?? []
    expect(read.filter((line) => line.what === 'sync_attempt').map((line) => line.detail)).toEqual([
      'attempt 1',
      'attempt 2',
    ])
    await db.dropDatabase()
  })
})
