import { type Names, streamDefinitions } from '@calsync/contracts'
import { ensureStream } from '@calsync/service-kit'
import { AckPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream'
import { nanos } from '@nats-io/transport-node'
import { afterAll, describe, expect, it } from 'vitest'
import { eventually, uniqueNames } from '../../../test/support/infra.ts'
import { ACME, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { advisoriesStreamDefinition } from '../src/intake/max-deliveries-consumer.ts'
import type { ReviewItemView } from '../src/items/review-item.ts'
import { type ReviewHarness, startReviewHarness } from './support/review-harness.ts'

/**
 * A durable on calsync's webhook stream that gives up after two deliveries: a pull stays open
 * while every delivery is nak'd, so the server decides the message is done for and says so.
 */
async function giveUpOn(
  clients: { js: JetStreamClient; jsm: JetStreamManager },
  names: Names,
  subject: string,
  body: string,
) {
  const stream = streamDefinitions(names).webhooks
  await ensureStream(clients.jsm, stream)
  const durable = `tiny-${Math.random().toString(36).slice(2, 8)}`
  await clients.jsm.consumers.add(stream.name, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    max_deliver: 2,
    ack_wait: nanos(30_000),
    filter_subject: subject,
  })
  const published = await clients.js.publish(subject, body)
  const consumer = await clients.js.consumers.get(stream.name, durable)
  const messages = await consumer.consume({ max_messages: 1 })
  const deliveries: JsMsg[] = []
  const loop = (async () => {
    for await (const message of messages) {
      deliveries.push(message)
      message.nak()
    }
  })()
  return {
    stream: stream.name,
    durable,
    seq: published.seq,
    deliveries,
    async stop() {
      await messages.close()
      await loop
    },
  }
}

describe('MAX_DELIVERIES advisories (the poison-message safety net)', () => {
  const harnesses: ReviewHarness[] = []
  afterAll(async () => {
    for (const harness of harnesses) await harness.close()
  })
  const start = async (names?: Names) => {
    const harness = await startReviewHarness(names ? { names } : {})
    harnesses.push(harness)
    return harness
  }

  it('turns a message a calsync consumer gave up on into a poison_message item of its tenant', async () => {
    const r = await start()
    const subject = r.names.subjects.webhook(ACME, 'BOOKING_CREATED')
    const run = await giveUpOn(r, r.names, subject, '{"hello":"world"}')
    const causeId = `max_deliveries:${run.stream}:${run.seq}`
    const item = await eventually('the poison item', () => r.itemOf(causeId), 20_000)
    await run.stop()
    expect(run.deliveries).toHaveLength(2)
    expect(item).toMatchObject({
      tenantId: ACME,
      kind: 'poison_message',
      appointmentIds: [],
      errorCode: 'max_deliveries',
      attempts: 2,
      status: 'open',
    })
    expect(item.errorMessage).toContain(run.durable)
    expect(item.detail).toMatchObject({
      stream: run.stream,
      consumer: run.durable,
      streamSequence: run.seq,
      subject,
      preview: '{"hello":"world"}',
    })
    // Its tenant sees it too (the tenant came from the stored message's subject).
    const listed = await r.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'GET', '/v1/review-items?kind=poison_message')
    expect(listed.json().items.map((i: ReviewItemView) => i.id)).toContain(item.id)
  })

  it('names the appointment of the given-up message, and a retry replays it to its consumer', async () => {
    const r = await start()
    const subject = r.names.subjects.webhook(ACME, 'BOOKING_CANCELLED')
    const body = '{"type":"calcom.webhook","appointmentId":"apt_given_up"}'
    const run = await giveUpOn(r, r.names, subject, body)
    const item = await eventually('the poison item', () => r.itemOf(`max_deliveries:${run.stream}:${run.seq}`), 20_000)
    expect(item).toMatchObject({ tenantId: ACME, kind: 'poison_message', appointmentIds: ['apt_given_up'] })
    expect(item.detail).toMatchObject({ stream: run.stream, streamSequence: run.seq, subject })

    const retried = await r.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'POST', `/v1/review-items/${item.id}/retry`)
    expect(retried.statusCode).toBe(200)
    const { streamSequence, msgId } = retried.json().replay
    expect(msgId).toBe(`replay:${run.stream}:${run.seq}:1`)
    // The same durable gets the replay and gives up on it again: that is an item of its own.
    const again = await eventually(
      'the replay given up',
      () => r.itemOf(`max_deliveries:${run.stream}:${streamSequence}`),
      20_000,
    )
    await run.stop()
    const replayed = run.deliveries.filter((message) => message.seq === streamSequence)
    expect(replayed.map((message) => message.string())).toEqual([body, body])
    expect(replayed[0]?.headers?.get('Calsync-Replay-Of')).toBe(`${run.stream}:${run.seq}`)
    expect(again).toMatchObject({ status: 'open', appointmentIds: ['apt_given_up'] })
    expect(await r.itemOf(`max_deliveries:${run.stream}:${run.seq}`)).toMatchObject({
      status: 'resolved',
      note: expect.stringContaining(`message ${streamSequence} of ${run.stream}`),
    })
  })

  it('keeps an advisory sent while no review instance runs, and records it once review starts', async () => {
    const names = uniqueNames()
    const probe = await start()
    // The stream exists from review's first start on; here it is made without running review.
    await ensureStream(probe.jsm, advisoriesStreamDefinition(names))
    const run = await giveUpOn(probe, names, names.subjects.webhook('Not_A_Tenant', 'BOOKING_CREATED'), 'raw bytes')
    await eventually('the advisory stored', async () => {
      const info = await probe.jsm.streams.info(advisoriesStreamDefinition(names).name)
      return info.state.messages === 1 ? true : undefined
    })
    await run.stop()

    const r = await start(names)
    const item = await eventually('the poison item', () => r.itemOf(`max_deliveries:${run.stream}:${run.seq}`), 20_000)
    expect(item).toMatchObject({ tenantId: 'unknown', kind: 'poison_message', errorCode: 'max_deliveries' })
    // Another deployment's give-ups on the same server are not ours: none reached this one.
    expect(
      await probe.components.items.items.countDocuments({ causeId: `max_deliveries:${run.stream}:${run.seq}` }),
    ).toBe(0)
  })
})
