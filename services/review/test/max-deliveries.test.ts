import { AckPolicy, type JsMsg } from '@nats-io/jetstream'
import { nanos } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, uniqueNames } from '../../../test/support/infra.ts'
import { ACME, TEST_SECRETS } from '../../../test/support/tenants.ts'
import type { ReviewItemView } from '../src/items/review-item.ts'
import { type ReviewHarness, startReviewHarness } from './support/review-harness.ts'

describe('MAX_DELIVERIES advisories (the poison-message safety net)', () => {
  let r: ReviewHarness
  const streams: string[] = []
  beforeAll(async () => {
    r = await startReviewHarness()
  })
  afterAll(async () => {
    for (const stream of streams) await r.jsm.streams.delete(stream).catch(() => undefined)
    await r?.close()
  })

  /**
   * A tiny stream whose durable gives up after two deliveries; a pull stays open while every
   * delivery is nak'd, so the server gets to decide the message is done for and says so.
   */
  async function giveUpOn(stream: string, subjectPrefix: string, subject: string, body: string) {
    streams.push(stream)
    await r.jsm.streams.add({ name: stream, subjects: [`${subjectPrefix}.>`] })
    await r.jsm.consumers.add(stream, {
      durable_name: 'tiny',
      ack_policy: AckPolicy.Explicit,
      max_deliver: 2,
      ack_wait: nanos(30_000),
    })
    const published = await r.js.publish(subject, body)
    const consumer = await r.js.consumers.get(stream, 'tiny')
    const messages = await consumer.consume({ max_messages: 1 })
    const deliveries: JsMsg[] = []
    const loop = (async () => {
      for await (const message of messages) {
        deliveries.push(message)
        message.nak()
      }
    })()
    return {
      seq: published.seq,
      deliveries,
      async stop() {
        await messages.close()
        await loop
      },
    }
  }

  it('turns a message a calsync consumer gave up on into a poison_message item of its tenant', async () => {
    const ns = r.names.namespace
    const stream = `${ns}_TINY`
    const subject = `${ns}.tiny.${ACME}.thing`
    const run = await giveUpOn(stream, `${ns}.tiny`, subject, '{"hello":"world"}')
    const causeId = `max_deliveries:${stream}:${run.seq}`
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
    expect(item.errorMessage).toContain('tiny')
    expect(item.detail).toMatchObject({
      stream,
      consumer: 'tiny',
      streamSequence: run.seq,
      subject,
      preview: '{"hello":"world"}',
    })
    // Its tenant sees it too (the tenant came from the stored message's subject).
    const listed = await r.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'GET', '/v1/review-items?kind=poison_message')
    expect(listed.json().items.map((i: ReviewItemView) => i.id)).toContain(item.id)
  })

  it("ignores other deployments' streams; a subject without a tenant gives tenant 'unknown'", async () => {
    const foreign = uniqueNames().namespace
    const foreignStream = `${foreign}_TINY`
    const seen = r.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${foreignStream}.>`, { max: 1 })
    const foreignRun = await giveUpOn(foreignStream, `${foreign}.tiny`, `${foreign}.tiny.${ACME}.x`, '{}')
    for await (const _ of seen) break
    await foreignRun.stop()

    const ns = r.names.namespace
    const stream = `${ns}_TINY2`
    const run = await giveUpOn(stream, `${ns}.tiny2`, `${ns}.tiny2.Not_A_Tenant.x`, 'raw bytes')
    const item = await eventually('the poison item', () => r.itemOf(`max_deliveries:${stream}:${run.seq}`), 20_000)
    await run.stop()
    expect(item).toMatchObject({ tenantId: 'unknown', kind: 'poison_message', errorCode: 'max_deliveries' })
    // The foreign advisory came first on the same subscription and was decided synchronously.
    expect(await r.itemOf(`max_deliveries:${foreignStream}:${foreignRun.seq}`)).toBeUndefined()
    expect(await r.components.items.items.countDocuments({ 'detail.stream': foreignStream })).toBe(0)
  })
})
