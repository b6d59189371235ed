import { consumerDefinitions, streamDefinitions } from '@calsync/contracts'
import {
  createHttpApp,
  createServiceMetrics,
  ensureConsumer,
  ensureStream,
  observeConsumerBacklog,
  publishMessage,
  type ServiceMetrics,
  startTelemetry,
} from '@calsync/service-kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { metrics } from '@opentelemetry/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectTestNats, quietLogger, uniqueNames } from '../../../test/support/infra.ts'
import { parsePrometheusText, scrapeApp } from '../../../test/support/prometheus.ts'

function appOf(serviceMetrics: ServiceMetrics) {
  return createHttpApp({ logger: quietLogger(), readiness: async () => ({}), metrics: serviceMetrics })
}

describe('metrics registry and GET /metrics', () => {
  it('serves counters and histograms in the Prometheus text format, named as created', async () => {
    const serviceMetrics = createServiceMetrics({ serviceName: 'metrics-test' })
    const counter = serviceMetrics.meter.createCounter('calsync_things_total', { description: 'things' })
    counter.add(2, { tenant: 'acme-dental', kind: 'a' })
    counter.add(1, { tenant: 'acme-dental', kind: 'b "quoted"\nline' })
    const histogram = serviceMetrics.meter.createHistogram('calsync_wait_seconds', {
      unit: 's',
      advice: { explicitBucketBoundaries: [0.1, 1] },
    })
    histogram.record(0.05)
    histogram.record(0.5)
    const app = appOf(serviceMetrics)

    const scrape = await scrapeApp(app)
    expect(scrape.types.get('calsync_things_total')).toBe('counter')
    expect(scrape.value('calsync_things_total', { kind: 'a' })).toBe(2)
    expect(scrape.value('calsync_things_total', { kind: 'b "quoted"\nline' })).toBe(1)
    expect(scrape.value('calsync_things_total', { tenant: 'acme-dental' })).toBe(3)
    // Labels are exactly the ones recorded: no scope labels added.
    const things = scrape.samples.filter((sample) => sample.name === 'calsync_things_total')
    for (const sample of things) expect(Object.keys(sample.labels).sort()).toEqual(['kind', 'tenant'])
    expect(scrape.types.get('calsync_wait_seconds')).toBe('histogram')
    expect(scrape.value('calsync_wait_seconds_count')).toBe(2)
    expect(scrape.value('calsync_wait_seconds_bucket', { le: '0.1' })).toBe(1)
    expect(scrape.value('calsync_wait_seconds_bucket', { le: '1' })).toBe(2)
    expect(scrape.value('calsync_wait_seconds_bucket', { le: '+Inf' })).toBe(2)
    expect(scrape.value('target_info', { service_name: 'metrics-test' })).toBe(1)
    await app.close()
    await serviceMetrics.shutdown()
  })

  it('keeps registries apart: each app shows only its own service', async () => {
    const one = createServiceMetrics({ serviceName: 'one' })
    const two = createServiceMetrics({ serviceName: 'two' })
    one.meter.createCounter('calsync_one_total').add(1)
    two.meter.createCounter('calsync_two_total').add(1)
    const text = await one.scrape()
    expect(parsePrometheusText(text).value('calsync_one_total')).toBe(1)
    expect(parsePrometheusText(text).value('calsync_two_total')).toBeUndefined()
    await Promise.all([one.shutdown(), two.shutdown()])
  })

  it('registers the process registry globally, so the API meter lands in /metrics', async () => {
    const telemetry = startTelemetry({ serviceName: 'global-test' })
    metrics.getMeter('some-library').createCounter('library_calls_total').add(4)
    const scrape = parsePrometheusText(await telemetry.metrics.scrape())
    expect(scrape.value('library_calls_total')).toBe(4)
    expect(scrape.value('target_info', { service_name: 'global-test' })).toBe(1)
    await telemetry.shutdown()
  })
})

describe('consumer backlog gauges', () => {
  let nc: NatsConnection
  beforeAll(async () => {
    nc = await connectTestNats()
  })
  afterAll(() => nc.drain())

  it('reads pending and ack-pending from consumer info at scrape time; a failed look-up is NaN for that consumer only', async () => {
    const names = uniqueNames()
    const jsm = await jetstreamManager(nc)
    const js = jetstream(nc)
    await ensureStream(jsm, streamDefinitions(names).review)
    const definition = consumerDefinitions(names).review
    await ensureConsumer(jsm, definition)
    const serviceMetrics = createServiceMetrics({ serviceName: 'backlog-test' })
    const missing = { stream: definition.stream, durable: `${definition.durable}-missing` }
    const backlog = observeConsumerBacklog({
      meter: serviceMetrics.meter,
      js,
      consumers: [definition, missing],
      logger: quietLogger(),
    })
    for (const n of [1, 2, 3]) {
      await publishMessage(
        js,
        names.subjects.review('acme-dental', 'sync_failed'),
        { type: 'test' },
        { msgId: `m${n}` },
      )
    }
    const app = appOf(serviceMetrics)
    const labels = { stream: definition.stream, consumer: definition.durable }

    const scrape = await scrapeApp(app)
    expect(scrape.value('calsync_consumer_pending', labels)).toBe(3)
    expect(scrape.value('calsync_consumer_ack_pending', labels)).toBe(0)
    expect(scrape.value('calsync_consumer_pending', { consumer: missing.durable })).toBeNaN()

    // One message handed out and not acknowledged: it moves from pending to ack-pending.
    const consumer = await js.consumers.get(definition.stream, definition.durable)
    const message = await consumer.next({ expires: 5_000 })
    expect(message).not.toBeNull()
    const after = await scrapeApp(app)
    expect(after.value('calsync_consumer_pending', labels)).toBe(2)
    expect(after.value('calsync_consumer_ack_pending', labels)).toBe(1)
    message?.ack()
    backlog.stop()
    await app.close()
    await serviceMetrics.shutdown()
  })

  it('still answers the scrape when NATS is gone', async () => {
    const names = uniqueNames()
    const closed = await connectTestNats()
    const serviceMetrics = createServiceMetrics({ serviceName: 'backlog-closed' })
    serviceMetrics.meter.createCounter('calsync_alive_total').add(1)
    observeConsumerBacklog({
      meter: serviceMetrics.meter,
      js: jetstream(closed),
      consumers: [consumerDefinitions(names).review],
      logger: quietLogger(),
    })
    await closed.close()
    const app = appOf(serviceMetrics)
    const scrape = await scrapeApp(app)
    expect(scrape.value('calsync_alive_total')).toBe(1)
    expect(scrape.value('calsync_consumer_pending')).toBeNaN()
    expect(scrape.value('calsync_consumer_ack_pending')).toBeNaN()
    await app.close()
    await serviceMetrics.shutdown()
  })
})
