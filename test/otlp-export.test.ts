import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { type CalcomSandbox, createCalcomSandbox, sandboxTenantsFrom } from '@calsync/calcom-sandbox'
import { type Names, TRACE_ID_HTTP_HEADER } from '@calsync/contracts'
import { parseTenantsFile } from '@calsync/service-kit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CAL_API_VERSION } from '../services/calcom-sync/src/calcom/calcom-client.ts'
import { eventually, uniqueDbName, uniqueNames } from './support/infra.ts'
import { fileLogger, LOG_DIR } from './support/logs.ts'
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './support/otlp-receiver.ts'
import { type ServiceProcess, startServiceProcess } from './support/service-process.ts'
import { ACME, futureSlot, TENANTS_YAML, TEST_SECRETS } from './support/tenants.ts'

const SERVICES = ['webhook-gateway', 'appointments', 'calcom-sync', 'review'] as const
const PORT_VARIABLES = {
  'webhook-gateway': 'GATEWAY_PORT',
  appointments: 'APPOINTMENTS_PORT',
  'calcom-sync': 'CALCOM_SYNC_PORT',
  review: 'REVIEW_PORT',
} as const
const attendee = { name: 'Noor Haddad', email: 'noor@example.org', timeZone: 'Asia/Amman' }

/** The subject a NATS span names itself after: `send <subject>` / `process <subject>`. */
const subjectOf = (span: ReceivedSpan) => span.name.replace(/^(send|process) /, '')

/**
 * Every span of the trace hangs off another span of it, up to exactly one root: nothing of the
 * change was cut off into a trace of its own, and nothing is missing in between.
 */
function assertOneTree(spans: ReceivedSpan[]): ReceivedSpan {
  const ids = new Set(spans.map((span) => span.spanId))
  const roots = spans.filter((span) => span.parentSpanId === '')
  expect(roots.map((span) => `${span.service}: ${span.name}`)).toHaveLength(1)
  for (const span of spans) {
    if (span.parentSpanId !== '')
      expect(ids.has(span.parentSpanId), `parent of ${span.service}: ${span.name}`).toBe(true)
  }
  return roots[0] as ReceivedSpan
}

/** Whether `descendant` lies under `ancestor` in the trace. */
function isUnder(spans: ReceivedSpan[], descendant: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  const byId = new Map(spans.map((span) => [span.spanId, span]))
  for (let at = byId.get(descendant.parentSpanId); at; at = byId.get(at.parentSpanId)) {
    if (at.spanId === ancestor.spanId) return true
  }
  return false
}

describe('traces exported over OTLP/HTTP by the four services as processes', () => {
  let receiver: OtlpReceiver
  let sandbox: CalcomSandbox
  let names: Names
  let sandboxUrl: string
  const processes = new Map<string, ServiceProcess>()
  const url = (service: (typeof SERVICES)[number]) => `http://127.0.0.1:${processes.get(service)?.port}`

  beforeAll(async () => {
    // startServiceProcess saves each process's output there for the secret scan.
    mkdirSync(LOG_DIR, { recursive: true })
    receiver = await startOtlpReceiver()
    names = uniqueNames()
    // The sandbox runs here; its webhooks are pointed at the gateway once that has a port.
    sandbox = createCalcomSandbox({
      tenants: sandboxTenantsFrom(parseTenantsFile(TENANTS_YAML, TEST_SECRETS, 'test tenants')),
      rateLimitPerMinute: 1000,
      logger: fileLogger('calcom-sandbox'),
    })
    await sandbox.app.listen({ host: '127.0.0.1', port: 0 })
    sandboxUrl = `http://127.0.0.1:${(sandbox.app.server.address() as { port: number }).port}`
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' }
    const started = await Promise.all(
      SERVICES.map((service) =>
        startServiceProcess(service, {
          names,
          dbName: uniqueDbName(service.replace('-', '_')),
          portVariable: PORT_VARIABLES[service],
          env: {
            ...otel,
            CALCOM_API_URL: sandboxUrl,
            CALSYNC_ADMIN_TOKEN: TEST_SECRETS.CALSYNC_ADMIN_TOKEN,
          },
        }),
      ),
    )
    for (const [index, service] of SERVICES.entries()) processes.set(service, started[index] as ServiceProcess)
    sandbox.setWebhookUrl(ACME, `${url('webhook-gateway')}/webhooks/calcom/${ACME}`)
  })

  afterAll(async () => {
    await Promise.all([...processes.values()].map((service) => service.managed.stop()))
    await sandbox?.app.close()
    await receiver?.close()
  })

  const spansOf = (traceId: string) => receiver.spans().filter((span) => span.traceId === traceId)
  const find = (spans: ReceivedSpan[], service: string, kind: ReceivedSpan['kind'], name: string) =>
    spans.find((span) => span.service === service && span.kind === kind && span.name === name)

  it('receives spans from all four services, named by service.name', async () => {
    // Readiness polling alone makes a server span in each of them.
    const services = await eventually('spans from all four services', async () => {
      const seen = new Set(receiver.spans().map((span) => span.service))
      return SERVICES.every((service) => seen.has(service)) ? seen : undefined
    })
    expect([...services]).toEqual(expect.arrayContaining([...SERVICES]))
  })

  it('makes a phone booking one trace: appointments API → JetStream → calcom-sync → Cal.com, traceparent included', async () => {
    const response = await fetch(`${url('appointments')}/v1/appointments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_SECRETS.ACME_PHONE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ eventTypeId: 1001, start: futureSlot(0, 9), attendee }),
    })
    expect(response.status).toBe(201)
    const traceId = response.headers.get(TRACE_ID_HTTP_HEADER) ?? ''
    expect(traceId).toMatch(/^[0-9a-f]{32}$/)
    const appointment = (await response.json()) as { id: string; origin: string }
    expect(appointment.origin).toBe('retell')
    const subject = names.subjects.appointmentEvent(ACME, 'booked')
    const result = names.subjects.syncResult(ACME, 'succeeded')

    const spans = await eventually(
      'the whole trace of the booking',
      async () => {
        const found = spansOf(traceId)
        const complete =
          find(found, 'appointments', 'SERVER', 'POST /v1/appointments') &&
          find(found, 'appointments', 'PRODUCER', `send ${subject}`) &&
          find(found, 'calcom-sync', 'CONSUMER', `process ${subject}`) &&
          find(found, 'calcom-sync', 'CLIENT', 'POST /v2/bookings') &&
          // calcom-sync's result, taken in by appointments and by review, in the same trace.
          find(found, 'appointments', 'CONSUMER', `process ${result}`) &&
          find(found, 'review', 'CONSUMER', `process ${result}`)
        return complete ? found : undefined
      },
      20_000,
    )
    const root = assertOneTree(spans)
    expect(`${root.service}: ${root.kind} ${root.name}`).toBe('appointments: SERVER POST /v1/appointments')
    const consumer = find(spans, 'calcom-sync', 'CONSUMER', `process ${subject}`) as ReceivedSpan
    const client = find(spans, 'calcom-sync', 'CLIENT', 'POST /v2/bookings') as ReceivedSpan
    expect(isUnder(spans, consumer, root)).toBe(true)
    expect(isUnder(spans, client, consumer)).toBe(true)

    // Cal.com saw the same trace: the sandbox logged the traceparent the client sent.
    const created = sandbox.requests().find((request) => request.method === 'POST' && request.path === '/v2/bookings')
    expect(created?.traceparent).toBe(`00-${traceId}-${client.spanId}-01`)
  })

  it('makes a Cal.com booking one trace: gateway HTTP → JetStream → appointments consumer', async () => {
    const response = await fetch(`${sandboxUrl}/v2/bookings`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_SECRETS.ACME_CALCOM_API_KEY}`,
        'cal-api-version': CAL_API_VERSION,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ start: futureSlot(1, 9), eventTypeId: 1001, attendee }),
    })
    expect(response.status).toBe(201)
    const { data } = (await response.json()) as { data: { uid: string } }
    await sandbox.flushWebhooks()
    const delivery = sandbox.webhooks().find((sent) => sent.bookingUid === data.uid)
    expect(delivery?.status).toBe(202)
    // The gateway publishes it under this Nats-Msg-Id: how its producer span is found.
    const deliveryId = createHash('sha256').update(`${ACME}\n${delivery?.body}`).digest('hex')
    const subject = names.subjects.webhook(ACME, 'BOOKING_CREATED')

    const producer = await eventually('the gateway publish span', async () =>
      receiver
        .spans()
        .find((span) => span.kind === 'PRODUCER' && span.attributes['messaging.message.id'] === deliveryId),
    )
    expect(producer.service).toBe('webhook-gateway')
    const spans = await eventually(
      'the whole trace of the webhook',
      async () => {
        const found = spansOf(producer.traceId)
        return find(found, 'appointments', 'CONSUMER', `process ${subject}`) &&
          // appointments then publishes the change as origin calcom, which calcom-sync skips (I5).
          find(found, 'calcom-sync', 'CONSUMER', `process ${names.subjects.appointmentEvent(ACME, 'booked')}`)
          ? found
          : undefined
      },
      20_000,
    )
    const root = assertOneTree(spans)
    expect(`${root.service}: ${root.kind} ${root.name}`).toBe('webhook-gateway: SERVER POST /webhooks/calcom/:tenantId')
    const consumer = find(spans, 'appointments', 'CONSUMER', `process ${subject}`) as ReceivedSpan
    expect(isUnder(spans, consumer, producer)).toBe(true)
    expect(isUnder(spans, producer, root)).toBe(true)
    expect(spans.filter((span) => span.kind === 'CLIENT' && span.service === 'calcom-sync')).toHaveLength(0)
  })

  it('marks every NATS span with messaging.system = nats and its subject as destination', async () => {
    const nats = receiver.spans().filter((span) => span.kind === 'PRODUCER' || span.kind === 'CONSUMER')
    expect(nats.length).toBeGreaterThan(0)
    for (const span of nats) {
      expect(span.attributes['messaging.system'], span.name).toBe('nats')
      expect(span.attributes['messaging.destination.name'], span.name).toBe(subjectOf(span))
      expect(subjectOf(span).startsWith(`${names.namespace}.`), span.name).toBe(true)
    }
  })

  it('exports no secret in any span', () => {
    const exported = receiver.payloads().join('\n')
    for (const [name, secret] of Object.entries(TEST_SECRETS)) expect(exported.includes(secret), name).toBe(false)
  })
})
