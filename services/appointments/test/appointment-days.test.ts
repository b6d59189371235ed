import type { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectTestMongo, uniqueDbName } from '../../../test/support/infra.ts'
import { createAppointmentDays, MAX_WINDOW_DAYS, windowDays } from '../src/appointments/appointment-days.ts'
import {
  type AppointmentDoc,
  createAppointmentsStore,
  type ListQuery,
  pageOf,
} from '../src/appointments/appointments-store.ts'

describe('windowDays', () => {
  it.each([
    ['within one day', '2031-03-04T09:00:00.000Z', '2031-03-04T17:00:00.000Z', ['2031-03-04']],
    ['up to midnight, exclusive', '2031-03-04T00:00:00.000Z', '2031-03-05T00:00:00.000Z', ['2031-03-04']],
    ['a minute past midnight', '2031-03-04T23:00:00.000Z', '2031-03-05T00:01:00.000Z', ['2031-03-04', '2031-03-05']],
    [
      'across a month end',
      '2031-02-27T12:00:00.000Z',
      '2031-03-02T12:00:00.000Z',
      ['2031-02-27', '2031-02-28', '2031-03-01', '2031-03-02'],
    ],
    ['empty', '2031-03-04T09:00:00.000Z', '2031-03-04T09:00:00.000Z', []],
    ['backwards', '2031-03-04T09:00:00.000Z', '2031-03-01T09:00:00.000Z', []],
  ])('%s', (_, from, to, days) => {
    expect(windowDays(from, to)).toEqual(days)
  })

  it('leaves a window longer than the days serve to a read by start', () => {
    const from = '2031-01-01T00:00:00.000Z'
    const end = (days: number) => new Date(Date.parse(from) + days * 86_400_000).toISOString()
    expect(windowDays(from, end(MAX_WINDOW_DAYS))).toHaveLength(MAX_WINDOW_DAYS)
    expect(windowDays(from, end(MAX_WINDOW_DAYS + 1))).toBeUndefined()
  })
})

const doc = (id: string, start: string, status: 'booked' | 'cancelled' = 'booked', tenantId = 'acme-dental') =>
  ({ _id: id, id, tenantId, start, status }) as unknown as AppointmentDoc

describe('pageOf', () => {
  const found = [
    doc('b', '2031-03-04T10:00:00.000Z'),
    doc('a', '2031-03-04T10:00:00.000Z', 'cancelled'),
    doc('c', '2031-03-04T09:00:00.000Z'),
    // Filed under this day before it moved to the next one.
    doc('d', '2031-03-05T09:00:00.000Z'),
    doc('e', '2031-03-04T11:00:00.000Z', 'booked', 'other-clinic'),
  ]
  const window = { from: '2031-03-04T00:00:00.000Z', to: '2031-03-05T00:00:00.000Z', limit: 50 }
  const ids = (query: ListQuery) => pageOf(found, 'acme-dental', query).map((item) => item._id)

  it.each<[string, ListQuery, string[]]>([
    ['by start, then id, only its own start and tenant', window, ['c', 'a', 'b']],
    ['status', { ...window, status: 'booked' }, ['c', 'b']],
    ['after a cursor', { ...window, after: { start: '2031-03-04T10:00:00.000Z', id: 'a' } }, ['b']],
    ['limit', { ...window, limit: 2 }, ['c', 'a']],
  ])('%s', (_, query, expected) => {
    expect(ids(query)).toEqual(expected)
  })
})

describe('appointment days on the database', () => {
  let mongo: MongoClient
  beforeAll(async () => {
    mongo = await connectTestMongo()
  })
  afterAll(() => mongo.close())

  it('files concurrent first appointments of a day, none lost to the race to insert the day', async () => {
    const db = mongo.db(uniqueDbName('days'))
    const days = createAppointmentDays(db, db.collection('store_markers'))
    const ids = Array.from({ length: 8 }, (_, n) => `race-${n}`)
    await Promise.all(ids.map((id) => days.add('acme-dental', id, '2031-03-04T09:00:00.000Z')))
    expect((await days.idsOn('acme-dental', ['2031-03-04'])).sort()).toEqual(ids)
    // Again, as a finish run a second time after a stop between the day and the projection: no new slot.
    await Promise.all(ids.slice(0, 3).map((id) => days.add('acme-dental', id, '2031-03-04T09:00:00.000Z')))
    expect(await db.collection('appointment_days').countDocuments({})).toBe(ids.length)
    await db.dropDatabase()
  })

  it('files appointments written before days existed, once; lists read by start until then', async () => {
    const db = mongo.db(uniqueDbName('days'))
    const store = createAppointmentsStore(db)
    await store.appointments.insertMany([
      doc('x1', '2031-03-04T09:00:00.000Z'),
      doc('x2', '2031-03-04T15:00:00.000Z'),
      doc('x3', '2031-03-06T09:00:00.000Z'),
      doc('y1', '2031-03-04T09:00:00.000Z', 'booked', 'other-clinic'),
    ])
    const window = { from: '2031-03-04T00:00:00.000Z', to: '2031-03-05T00:00:00.000Z', limit: 50 }
    expect(store.days.ready()).toBe(false)
    expect((await store.list('acme-dental', window)).map((item) => item._id)).toEqual(['x1', 'x2'])

    expect(await store.days.backfill(store.appointments)).toBe(4)
    expect(store.days.ready()).toBe(true)
    expect(await store.days.idsOn('acme-dental', ['2031-03-04', '2031-03-06'])).toEqual(['x1', 'x2', 'x3'])
    expect((await store.list('acme-dental', window)).map((item) => item._id)).toEqual(['x1', 'x2'])

    // Another instance (or a restart) sees the marker and files nothing again.
    const again = createAppointmentDays(db, db.collection('store_markers'))
    expect(await again.backfill(store.appointments)).toBe(0)
    expect(again.ready()).toBe(true)
    await db.dropDatabase()
  })
})
