import { randomBytes } from 'node:crypto'
import { createSchemaCheck, HEADERS, streamDefinitions } from '@calsync/contracts'
import {
  ack,
  createPoisonReporter,
  ensureConsumer,
  ensureStream,
  type RunningConsumer,
  startConsumer,
} from '@calsync/service-kit'
import { headers as createHeaders, type Msg, type MsgHdrs } from '@nats-io/transport-node'
import Type from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, quietLogger } from '../../../test/support/infra.ts'
import { ACME, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { REPLAY_OF_HEADER } from '../src/constants.ts'
import { REVIEW_ADMIN_TOKEN, type ReviewHarness, startReviewHarness } from './support/review-harness.ts'

const ACME_TOKEN = TEST_SECRETS.ACME_PHONE_TOKEN
const BRIGHT_TOKEN = TEST_SECRETS.BRIGHT_API_TOKEN
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

/** What the test's webhook consumer accepts; anything else it reports as poison, as the services do. */
const TestWebhook = Type.Object({ type: Type.Literal('calcom.webhook.test'), appointmentId: Type.String() })

describe('retry by replaying the stored message', () => {
  let r: ReviewHarness
  let stream: string
  let consumer: RunningConsumer
  const handled: Array<{ seq: number; headers: MsgHdrs | undefined }> = []

  beforeAll(async () => {
    r = await startReviewHarness()
    const webhooks = streamDefinitions(r.names).webhooks
    stream = webhooks.name
    await ensureStream(r.jsm, webhooks)
    const definition = {
      stream,
      durable: `replay-test-${randomBytes(3).toString('hex')}`,
      filterSubject: r.names.subjects.webhooks,
      ackWaitMs: 30_000,
      maxDeliver: 5,
      maxAckPending: 100,
    }
    await ensureConsumer(r.jsm, definition)
    consumer = await startConsumer({
      js: r.js,
      definition,
      schema: createSchemaCheck(TestWebhook),
      logger: quietLogger(),
      onInvalid: createPoisonReporter({ js: r.js, names: r.names }),
      handle: async ({ raw }) => {
        handled.push({ seq: raw.seq, headers: raw.headers })
        return ack()
      },
    })
  })
  afterAll(async () => {
    await consumer?.stop()
    await r?.close()
  })

  const subject = () => r.names.subjects.webhook(ACME, 'BOOKING_CREATED')

  /** A message on the webhook stream published as the gateway would, with trace and calsync headers. */
  async function publishWebhook(body: object) {
    const headers = createHeaders()
    headers.set(HEADERS.traceparent, TRACEPARENT)
    headers.set(HEADERS.tenant, ACME)
    headers.set(HEADERS.messageType, 'calcom.webhook.test')
    const msgId = `orig-${randomBytes(6).toString('hex')}`
    const data = JSON.stringify(body)
    const published = await r.js.publish(subject(), data, { msgID: msgId, headers })
    return { seq: published.seq, msgId, data }
  }

  /** Every message published on the subject from now on (JetStream publishes are core messages too). */
  function watch(on: string) {
    const seen: Msg[] = []
    const sub = r.nc.subscribe(on)
    void (async () => {
      for await (const message of sub) seen.push(message)
    })()
    return { seen, stop: () => sub.unsubscribe() }
  }

  it('republishes a poison message to its subject under a new id and resolves the item naming the new sequence', async () => {
    const original = await publishWebhook({ type: 'calcom.webhook.broken', appointmentId: 'apt_replay_1' })
    const causeId = `poison:${stream}:${original.seq}`
    const item = await eventually('the poison item', () => r.itemOf(causeId))
    expect(item).toMatchObject({ tenantId: ACME, kind: 'poison_message', appointmentIds: ['apt_replay_1'] })
    expect(item.detail).toMatchObject({ stream, subject: subject(), streamSequence: original.seq })

    // Tenant scoping as for every route: another tenant's token does not find it.
    expect((await r.api(BRIGHT_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)).statusCode).toBe(404)

    const watcher = watch(subject())
    const retried = await r.api(ACME_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)
    expect(retried.statusCode).toBe(200)
    const replay = retried.json().replay
    expect(replay).toEqual({
      stream,
      streamSequence: expect.any(Number),
      subject: subject(),
      msgId: `replay:${stream}:${original.seq}:1`,
      duplicate: false,
    })
    expect(replay.streamSequence).toBeGreaterThan(original.seq)

    const arrived = await eventually('the replay on the original subject', async () => watcher.seen[0])
    watcher.stop()
    expect(arrived.subject).toBe(subject())
    expect(arrived.string()).toBe(original.data)
    expect(arrived.headers?.get(REPLAY_OF_HEADER)).toBe(`${stream}:${original.seq}`)
    expect(arrived.headers?.get(HEADERS.msgId)).toBe(replay.msgId)
    expect(arrived.headers?.get(HEADERS.msgId)).not.toBe(original.msgId)
    expect(arrived.headers?.get(HEADERS.traceparent)).toBe(TRACEPARENT)
    expect(arrived.headers?.get(HEADERS.tenant)).toBe(ACME)
    const stored = await r.jsm.streams.getMessage(stream, { seq: replay.streamSequence })
    expect(stored?.subject).toBe(subject())
    expect(stored?.string()).toBe(original.data)

    const resolved = retried.json().item
    expect(resolved).toMatchObject({ id: item.id, status: 'resolved', retry: { outcome: 'succeeded' } })
    expect(resolved.note).toContain(`message ${replay.streamSequence} of ${stream}`)
    expect(await r.itemOf(causeId)).toMatchObject({ status: 'resolved', note: resolved.note })

    // Still invalid: the replay raised an item of its own, naming the same appointment.
    const again = await eventually('the poison item of the replay', () =>
      r.itemOf(`poison:${stream}:${replay.streamSequence}`),
    )
    expect(again).toMatchObject({ status: 'open', appointmentIds: ['apt_replay_1'] })
    expect((await r.api(ACME_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)).statusCode).toBe(409)
  })

  it('answers 409 when the stored message is no longer kept, and changes nothing', async () => {
    const original = await publishWebhook({ type: 'calcom.webhook.broken', appointmentId: 'apt_replay_2' })
    const causeId = `poison:${stream}:${original.seq}`
    const item = await eventually('the poison item', () => r.itemOf(causeId))
    expect(await r.jsm.streams.deleteMessage(stream, original.seq)).toBe(true)
    const before = (await r.jsm.streams.info(stream)).state

    const retried = await r.api(REVIEW_ADMIN_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)
    expect(retried.statusCode).toBe(409)
    expect(retried.json()).toEqual({ error: 'conflict', message: expect.stringContaining('no longer kept') })
    expect(await r.itemOf(causeId)).toEqual(item)
    const after = (await r.jsm.streams.info(stream)).state
    expect(after.last_seq).toBe(before.last_seq)
  })

  it('replays an unapplied webhook to its consumer, which handles it again', async () => {
    const original = await publishWebhook({ type: 'calcom.webhook.test', appointmentId: 'apt_replay_3' })
    await eventually('the first handling', async () => handled.find((m) => m.seq === original.seq))
    const causeId = `unapplied:${stream}:${original.seq}`
    // As the appointments service reports a verified webhook it accepted but could not apply.
    await r.publishReview({
      type: 'review.requested',
      kind: 'unapplied_webhook',
      causeId,
      tenantId: ACME,
      appointmentIds: ['apt_replay_3'],
      errorCode: 'unknown_booking',
      errorMessage: 'BOOKING_CANCELLED for a booking calsync does not know',
      attempts: 1,
      at: new Date().toISOString(),
      detail: { stream, streamSequence: original.seq, subject: subject() },
    })
    const item = await eventually('the unapplied item', () => r.itemOf(causeId))

    const retried = await r.api(ACME_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)
    expect(retried.statusCode).toBe(200)
    const { streamSequence } = retried.json().replay
    const again = await eventually('the replay handled', async () => handled.find((m) => m.seq === streamSequence))
    expect(again.headers?.get(REPLAY_OF_HEADER)).toBe(`${stream}:${original.seq}`)
    expect(await r.itemOf(causeId)).toMatchObject({
      status: 'resolved',
      note: expect.stringContaining(`${streamSequence}`),
    })
  })

  it('refuses to replay what names no calsync stream message', async () => {
    await r.publishReview({
      type: 'review.requested',
      kind: 'poison_message',
      causeId: 'poison:ELSEWHERE:7',
      tenantId: ACME,
      appointmentIds: [],
      errorCode: 'invalid_message',
      errorMessage: 'a message of another deployment',
      attempts: 1,
      at: new Date().toISOString(),
      detail: { stream: 'ELSEWHERE', streamSequence: 7, subject: subject() },
    })
    const item = await eventually('the foreign item', () => r.itemOf('poison:ELSEWHERE:7'))
    const retried = await r.api(REVIEW_ADMIN_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)
    expect(retried.statusCode).toBe(409)
    expect(retried.json()).toEqual({ error: 'conflict', message: expect.stringContaining('nothing to replay') })
    expect(await r.itemOf('poison:ELSEWHERE:7')).toEqual(item)
  })
})
