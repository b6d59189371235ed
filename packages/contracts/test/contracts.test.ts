import {
  AppointmentEvent,
  CalcomBookingWebhook,
  consumerDefinitions,
  createNames,
  createSchemaCheck,
  extractTraceContext,
  injectTraceContext,
  ReviewRequest,
  SyncResult,
  streamDefinitions,
  VerifiedWebhook,
  WEBHOOK_DUPLICATE_WINDOW_MS,
} from '@calsync/contracts'
import { context, propagation, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { describe, expect, it } from 'vitest'

const snapshot = {
  id: 'apt_1',
  tenantId: 'acme-dental',
  eventTypeId: 1001,
  resource: 'dr-jones',
  start: '2030-01-07T10:00:00.000Z',
  end: '2030-01-07T10:30:00.000Z',
  status: 'booked',
  origin: 'retell',
  version: 1,
  attendee: { name: 'Dana', email: 'dana@example.org', timeZone: 'Europe/Berlin' },
  calcomBookingUid: null,
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
}

const booking = {
  triggerEvent: 'BOOKING_CREATED',
  createdAt: '2030-01-01T00:00:00.000Z',
  payload: {
    uid: 'q3XbT9',
    bookingId: 17,
    eventTypeId: 1001,
    startTime: '2030-01-07T10:00:00Z',
    endTime: '2030-01-07T10:30:00Z',
    attendees: [{ name: 'Dana', email: 'dana@example.org', timeZone: 'Europe/Berlin' }],
    organizer: { name: 'Dr Jones' },
  },
}

/** Each schema: one payload it accepts and one it rejects, with the field named. */
const cases = [
  {
    name: 'AppointmentEvent',
    schema: AppointmentEvent,
    valid: {
      type: 'appointment.booked',
      eventId: 'apt_1:1',
      tenantId: 'acme-dental',
      appointmentId: 'apt_1',
      version: 1,
      origin: 'retell',
      occurredAt: '2030-01-01T00:00:00.000Z',
      appointment: snapshot,
    },
    invalid: (value: Record<string, unknown>) => ({ ...value, origin: 'fax' }),
    path: '/origin',
  },
  {
    name: 'SyncResult',
    schema: SyncResult,
    valid: {
      type: 'sync.failed',
      tenantId: 'acme-dental',
      appointmentId: 'apt_1',
      version: 2,
      attempt: 4,
      at: '2030-01-01T00:00:00.000Z',
      errorCode: 'calcom_server_error',
      errorMessage: 'HTTP 500',
    },
    invalid: (value: Record<string, unknown>) => ({ ...value, attempt: 0 }),
    path: '/attempt',
  },
  {
    name: 'ReviewRequest',
    schema: ReviewRequest,
    valid: {
      type: 'review.requested',
      kind: 'double_booking',
      causeId: 'conflict:apt_1:apt_2',
      tenantId: 'acme-dental',
      appointmentIds: ['apt_1', 'apt_2'],
      errorCode: 'slot_unavailable',
      errorMessage: 'overlap',
      attempts: 0,
      at: '2030-01-01T00:00:00.000Z',
      detail: {},
    },
    invalid: (value: Record<string, unknown>) => ({ ...value, kind: 'other' }),
    path: '/kind',
  },
  {
    name: 'CalcomBookingWebhook',
    schema: CalcomBookingWebhook,
    valid: booking,
    invalid: (value: Record<string, unknown>) => ({ ...value, payload: { ...(value.payload as object), uid: '' } }),
    path: '/payload/uid',
  },
  {
    name: 'VerifiedWebhook',
    schema: VerifiedWebhook,
    valid: {
      type: 'calcom.webhook.verified',
      tenantId: 'acme-dental',
      deliveryId: 'abc',
      receivedAt: '2030-01-01T00:00:00.000Z',
      webhook: booking,
    },
    invalid: ({ deliveryId: _deliveryId, ...value }: Record<string, unknown>) => value,
    path: '/deliveryId',
  },
] as const

describe('message schemas', () => {
  for (const testCase of cases) {
    it(`${testCase.name} accepts a valid message and names the field of an invalid one`, () => {
      const check = createSchemaCheck(testCase.schema)
      expect(check.check(testCase.valid)).toMatchObject({ ok: true })
      const result = check.check(testCase.invalid(testCase.valid as Record<string, unknown>))
      expect(result.ok).toBe(false)
      if (!result.ok) expect(result.issues.map((issue) => issue.path)).toContain(testCase.path)
    })
  }
})

describe('Cal.com webhook bounds', () => {
  const check = createSchemaCheck(CalcomBookingWebhook)
  const withPayload = (payload: Record<string, unknown>) => ({
    ...booking,
    payload: { ...booking.payload, ...payload },
  })
  const attendee = { name: 'Dana', email: 'dana@example.org', timeZone: 'Europe/Berlin' }

  it('accepts a booking at exactly every limit, with an address Cal.com did not validate', () => {
    const atLimits = withPayload({
      uid: 'u'.repeat(255),
      rescheduleUid: 'r'.repeat(255),
      additionalNotes: 'n'.repeat(2000),
      metadata: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`key${i}`, i])),
      attendees: [
        {
          name: 'a'.repeat(200),
          email: `${'e'.repeat(305)}@not-an-address`,
          timeZone: 'z'.repeat(64),
          phoneNumber: '+'.padEnd(32, '1'),
        },
        ...Array.from({ length: 99 }, () => attendee),
      ],
    })
    expect(check.check(atLimits)).toMatchObject({ ok: true })
  })

  const overLimits: [string, Record<string, unknown>][] = [
    ['/payload/uid', { uid: 'u'.repeat(256) }],
    ['/payload/rescheduleUid', { rescheduleUid: 'r'.repeat(256) }],
    ['/payload/additionalNotes', { additionalNotes: 'n'.repeat(2001) }],
    ['/payload/metadata', { metadata: Object.fromEntries(Array.from({ length: 61 }, (_, i) => [`key${i}`, i])) }],
    ['/payload/attendees', { attendees: Array.from({ length: 101 }, () => attendee) }],
    ['/payload/attendees/0/name', { attendees: [{ ...attendee, name: 'a'.repeat(201) }] }],
    ['/payload/attendees/0/email', { attendees: [{ ...attendee, email: `${'e'.repeat(309)}@example.org` }] }],
    ['/payload/attendees/0/timeZone', { attendees: [{ ...attendee, timeZone: 'z'.repeat(65) }] }],
    ['/payload/attendees/0/phoneNumber', { attendees: [{ ...attendee, phoneNumber: '1'.repeat(33) }] }],
  ]
  it.each(overLimits)('refuses one over the limit at %s', (path, payload) => {
    const result = check.check(withPayload(payload))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.issues.map((issue) => issue.path)).toContain(path)
  })
})

describe('names', () => {
  it('gives the production names without a namespace and prefixed names with one', () => {
    expect(createNames().subjects.appointmentEvent('acme', 'booked')).toBe('appointment.acme.booked')
    const test = createNames('t1')
    expect(test.subjects.appointmentEvent('acme', 'booked')).toBe('t1.appointment.acme.booked')
    expect(test.streams.appointments).toBe('t1_CALSYNC_APPOINTMENTS')
    expect(test.buckets.tenants).toBe('t1_calsync_tenants')
    expect(() => createNames('bad.namespace')).toThrow(/invalid NATS namespace/)
  })

  it('keeps the webhook duplicate window longer than the 15 minute replay window', () => {
    expect(WEBHOOK_DUPLICATE_WINDOW_MS).toBeGreaterThanOrEqual(15 * 60_000)
    const names = createNames()
    expect(streamDefinitions(names).webhooks.duplicateWindowMs).toBe(WEBHOOK_DUPLICATE_WINDOW_MS)
    expect(consumerDefinitions(names).calcomSync.stream).toBe(names.streams.appointments)
  })
})

describe('trace context in NATS headers', () => {
  it('injects traceparent and extracts it case-insensitively', () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator())
    const spanContext = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
    }
    const store = new Map<string, string>()
    const carrier = {
      get: (key: string) => store.get(key) ?? '',
      set: (key: string, value: string) => void store.set(key, value),
      keys: () => [...store.keys()],
    }
    injectTraceContext(carrier, trace.setSpanContext(ROOT_CONTEXT, spanContext))
    expect(store.get('traceparent')).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')

    // A peer that wrote the header in another case is still understood.
    const value = store.get('traceparent') as string
    store.clear()
    store.set('Traceparent', value)
    const extracted = trace.getSpanContext(extractTraceContext(carrier, context.active()))
    expect(extracted?.traceId).toBe(spanContext.traceId)
    expect(extracted?.spanId).toBe(spanContext.spanId)
  })
})
