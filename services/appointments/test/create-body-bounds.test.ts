import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'

const PHONE = TEST_SECRETS.ACME_PHONE_TOKEN
const attendee = { name: 'Dana Reyes', email: 'dana@example.org', timeZone: 'Europe/Berlin' }

/**
 * Every document of every non-empty collection: "nothing left behind" is this staying equal.
 * (Background components create their collections lazily, empty, whenever they first look.)
 */
async function databaseContents(h: AppointmentsHarness): Promise<Record<string, unknown[]>> {
  const contents: Record<string, unknown[]> = {}
  for (const { name } of await h.db.listCollections({}, { nameOnly: true }).toArray()) {
    const docs = await h.db.collection(name).find({}).sort({ _id: 1 }).toArray()
    if (docs.length > 0) contents[name] = docs
  }
  return contents
}

describe('POST /v1/appointments refuses unbounded input with 400 and changes nothing', () => {
  let h: AppointmentsHarness
  beforeAll(async () => {
    h = await startAppointmentsHarness()
    // The start-up backfill writes its marker once; after it, the database holds still.
    await eventually(
      'the day backfill marker',
      async () => (await h.db.collection('store_markers').findOne({})) ?? undefined,
    )
  })
  afterAll(() => h.close())

  const start = futureSlot(5, 14)
  const valid = { eventTypeId: 1001, start, attendee }
  const long = (length: number) => 'x'.repeat(length)

  // Each reached the database as a field name or value it could not store, and was a 500.
  const bodies: [string, unknown][] = [
    ['an attendee key with a dot', { ...valid, attendee: { ...attendee, 'a.b': 1 } }],
    ['an attendee key starting with $', { ...valid, attendee: { ...attendee, $x: 1 } }],
    ['an attendee key holding a nested array', { ...valid, attendee: { ...attendee, tags: [[1, 2], [3]] } }],
    ['an extra top-level key', { ...valid, 'meta.data': { $set: 1 } }],
    ['an over-long attendee name', { ...valid, attendee: { ...attendee, name: long(201) } }],
    ['an over-long attendee time zone', { ...valid, attendee: { ...attendee, timeZone: long(65) } }],
    ['an over-long phone number', { ...valid, attendee: { ...attendee, phoneNumber: long(33) } }],
    ['a time zone Cal.com would refuse', { ...valid, attendee: { ...attendee, timeZone: 'Mars/Olympus_Mons' } }],
    ['over-long notes', { ...valid, notes: long(2001) }],
    ['an over-long start', { ...valid, start: `${start.slice(0, 19)}.${'0'.repeat(60)}Z` }],
    ['an event type id past the safe integers', { ...valid, eventTypeId: 2 ** 60 }],
    // The database refuses a string holding NUL.
    ['a NUL in the attendee name', { ...valid, attendee: { ...attendee, name: 'Dana\u0000Reyes' } }],
    ['a NUL in the notes', { ...valid, notes: 'ring\u0000twice' }],
  ]

  it.each(bodies)('answers 400 bad_request for %s', async (_name, body) => {
    const before = await databaseContents(h)
    const response = await h.api(PHONE, 'POST', '/v1/appointments', body)
    expect(response.statusCode, response.body).toBe(400)
    expect(response.json()).toEqual({ error: 'bad_request', message: expect.any(String) })
    expect(await databaseContents(h)).toEqual(before)
    expect(await h.events()).toEqual([])
  })

  it('refuses the same extra keys on the idempotent path, storing no key', async () => {
    const before = await databaseContents(h)
    const body = { ...valid, attendee: { ...attendee, 'a.b': 1 } }
    const response = await h.api(PHONE, 'POST', '/v1/appointments', body, { 'idempotency-key': 'bounds-1' })
    expect(response.statusCode).toBe(400)
    expect(await databaseContents(h)).toEqual(before)
  })

  it.each([
    ['an id holding NUL', '/v1/appointments/apt%00x'],
    ['a history id holding NUL', '/v1/appointments/apt%00x/history'],
    [
      'a cursor whose content holds NUL',
      `/v1/appointments?cursor=${Buffer.from(JSON.stringify([start, 'a\u0000'])).toString('base64url')}`,
    ],
  ])('answers 400 bad_request, not 500, for %s', async (_name, url) => {
    const response = await h.api(PHONE, 'GET', url)
    expect(response.statusCode, response.body).toBe(400)
    expect(response.json()).toMatchObject({ error: 'bad_request' })
  })

  it('left the slot free: the valid booking of it still succeeds', async () => {
    const response = await h.api(PHONE, 'POST', '/v1/appointments', valid)
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json().attendee).toEqual(attendee)
  })
})
