import { type ReviewRequest, streamDefinitions } from '@calsync/contracts'
import { appointmentIdsOfMessage, createPoisonReporter, ensureStream } from '@calsync/service-kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectTestNats, uniqueNames } from '../../../test/support/infra.ts'

const bytes = (text: string) => new TextEncoder().encode(text)

describe('appointmentIdsOfMessage', () => {
  it.each([
    ['{"appointmentId":"apt_1"}', ['apt_1']],
    ['{"type":"x","appointmentId":"apt_2","version":"not a number"}', ['apt_2']],
    ['{"appointmentId":""}', []],
    ['{"appointmentId":42}', []],
    ['{"appointment":{"appointmentId":"apt_nested"}}', []],
    ['[{"appointmentId":"apt_in_array"}]', []],
    ['"apt_string"', []],
    ['null', []],
    ['not json {', []],
    ['', []],
    [`{"appointmentId":"${'x'.repeat(201)}"}`, []],
  ])('reads %s as %j', (data, expected) => {
    expect(appointmentIdsOfMessage(bytes(data))).toEqual(expected)
  })

  it('reads nothing of no data', () => {
    expect(appointmentIdsOfMessage(undefined)).toEqual([])
  })
})

describe('the poison reporter against a real server', () => {
  let nc: NatsConnection
  beforeAll(async () => {
    nc = await connectTestNats()
  })
  afterAll(() => nc.drain())

  it('names the appointment and the stored message in the review request', async () => {
    const names = uniqueNames()
    const jsm = await jetstreamManager(nc)
    const js = jetstream(nc)
    await ensureStream(jsm, streamDefinitions(names).review)
    const subject = names.subjects.webhook('acme-dental', 'BOOKING_CREATED')
    await createPoisonReporter({ js, names })({
      stream: names.streams.webhooks,
      consumer: 'appointments-webhooks',
      subject,
      data: bytes('{"appointmentId":"apt_poison","start":"yesterday"}'),
      issues: [{ path: '/start', message: 'must be a date-time' }],
      deliveryCount: 1,
      streamSequence: 9,
    })
    const stored = await jsm.streams.getMessage(names.streams.review, {
      last_by_subj: names.subjects.review('acme-dental', 'poison_message'),
    })
    expect(stored?.json<ReviewRequest>()).toMatchObject({
      kind: 'poison_message',
      causeId: `poison:${names.streams.webhooks}:9`,
      tenantId: 'acme-dental',
      appointmentIds: ['apt_poison'],
      detail: { stream: names.streams.webhooks, consumer: 'appointments-webhooks', subject, streamSequence: 9 },
    })
  })
})
