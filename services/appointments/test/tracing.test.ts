import { AppointmentEvent, type ConsumerDefinition, createSchemaCheck } from '@calsync/contracts'
import { ack, ensureConsumer, startConsumer, startTelemetry, type Telemetry } from '@calsync/service-kit'
import { SpanKind, trace } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, quietLogger } from '../../../test/support/infra.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'

describe('one trace per change (I8)', () => {
  const exporter = new InMemorySpanExporter()
  let telemetry: Telemetry
  let h: AppointmentsHarness
  beforeAll(async () => {
    telemetry = startTelemetry({ serviceName: 'appointments', spanProcessors: [new SimpleSpanProcessor({ exporter })] })
    h = await startAppointmentsHarness()
  })
  afterAll(async () => {
    await h.close()
    await telemetry.shutdown()
  })

  it('runs from the HTTP request through the database write and the publish to the consumer span', async () => {
    // A stand-in for calcom-sync: a durable consumer of appointment events.
    const definition: ConsumerDefinition = {
      stream: h.names.streams.appointments,
      durable: 'trace-probe',
      filterSubject: h.names.subjects.appointmentEvents,
      ackWaitMs: 30_000,
      maxDeliver: 3,
      maxAckPending: 10,
    }
    await ensureConsumer(h.jsm, definition)
    const seen: string[] = []
    const probe = await startConsumer({
      js: h.js,
      definition,
      schema: createSchemaCheck(AppointmentEvent),
      logger: quietLogger(),
      handle: async () => {
        seen.push(trace.getActiveSpan()?.spanContext().traceId ?? 'none')
        return ack()
      },
    })
    const incoming = '5e1a0f9e3c2b4d6a8f7e6d5c4b3a2918'
    const response = await h.api(
      TEST_SECRETS.ACME_PHONE_TOKEN,
      'POST',
      '/v1/appointments',
      {
        eventTypeId: 1001,
        start: futureSlot(0, 9),
        attendee: { name: 'Ola', email: 'ola@example.org', timeZone: 'UTC' },
      },
      { traceparent: `00-${incoming}-1111111111111111-01` },
    )
    expect(response.statusCode).toBe(201)
    expect(response.headers['x-trace-id']).toBe(incoming)
    const [consumerTraceId] = await eventually('the consumer to see the event', async () =>
      seen.length > 0 ? seen : undefined,
    )
    await probe.stop()
    expect(consumerTraceId).toBe(incoming)

    const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === incoming)
    const kinds = spans.map((span) => `${SpanKind[span.kind]} ${span.name}`)
    expect(kinds).toEqual(
      expect.arrayContaining([
        'SERVER POST /v1/appointments',
        'CLIENT mongodb insert appointment_events',
        `PRODUCER send ${h.names.subjects.appointmentEvent('acme-dental', 'booked')}`,
        `CONSUMER process ${h.names.subjects.appointmentEvent('acme-dental', 'booked')}`,
      ]),
    )
  })
})
