import { CALSYNC_METADATA, consumerDefinitions } from '@calsync/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook } from '../../../test/support/calcom-webhooks.ts'
import { eventually } from '../../../test/support/infra.ts'
import { type Scrape, scrapeApp } from '../../../test/support/prometheus.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'

const ACME = 'acme-dental'
const PHONE = TEST_SECRETS.ACME_PHONE_TOKEN
const attendee = { name: 'Mia Olsen', email: 'mia@example.org', timeZone: 'Europe/Oslo' }
const PUBLISHED = 'calsync_events_published_total'
const PROCESSED = 'calsync_calcom_webhooks_processed_total'

describe('appointments metrics on GET /metrics', () => {
  let h: AppointmentsHarness
  beforeAll(async () => {
    h = await startAppointmentsHarness({ components: { webhookWait: { initialMs: 50, maxMs: 200, deliveries: 5 } } })
  })
  afterAll(() => h.close())

  /** Scrapes until `check` holds: the relay and the consumers work in the background. */
  function scrapeUntil(what: string, check: (scrape: Scrape) => boolean): Promise<Scrape> {
    return eventually(what, async () => {
      const scrape = await scrapeApp(h.app)
      return check(scrape) ? scrape : undefined
    })
  }

  it('counts each event the outbox relay stored in JetStream, by type and origin', async () => {
    const created = await h.api(PHONE, 'POST', '/v1/appointments', {
      eventTypeId: 1001,
      start: futureSlot(0, 9),
      attendee,
    })
    expect(created.statusCode).toBe(201)
    const cancelled = await h.api(PHONE, 'POST', `/v1/appointments/${created.json().id}/cancel`, {})
    expect(cancelled.statusCode).toBe(200)
    const scrape = await scrapeUntil(
      'both events counted',
      (s) => s.value(PUBLISHED, { type: 'appointment.cancelled', origin: 'retell' }) === 1,
    )
    expect(scrape.types.get(PUBLISHED)).toBe('counter')
    expect(scrape.value(PUBLISHED, { type: 'appointment.booked', origin: 'retell' })).toBe(1)
    // A relay pass over nothing new publishes (and counts) nothing more.
    await h.components.relay.runOnce()
    expect((await scrapeApp(h.app)).value(PUBLISHED)).toBe(2)
  })

  it('counts verified Cal.com webhooks by trigger and result: applied, duplicate, echo, conflict, deferred, review', async () => {
    const local = (
      await h.api(PHONE, 'POST', '/v1/appointments', { eventTypeId: 1001, start: futureSlot(1, 9), attendee })
    ).json()
    // Echo: the booking calcom-sync made for `local` coming back from Cal.com.
    const metadata = { [CALSYNC_METADATA.appointmentId]: local.id, [CALSYNC_METADATA.tenantId]: ACME }
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_CREATED', { uid: 'metrics-echo', eventTypeId: 1001, start: futureSlot(1, 9), metadata }),
    )
    // It waits for calcom-sync's result, which tells that calsync made this booking.
    await h.publishSyncResult({
      type: 'sync.succeeded',
      tenantId: ACME,
      appointmentId: local.id,
      version: 1,
      attempt: 1,
      at: new Date().toISOString(),
      eventId: `${local.id}:v1`,
      calcomBookingUid: 'metrics-echo',
      action: 'created',
      previousBookingUid: null,
    })
    // Echo again, the usual order: calcom-sync's result linked the uid before Cal.com's webhook came.
    const second = (
      await h.api(PHONE, 'POST', '/v1/appointments', { eventTypeId: 1001, start: futureSlot(1, 15), attendee })
    ).json()
    await h.publishSyncResult({
      type: 'sync.succeeded',
      tenantId: ACME,
      appointmentId: second.id,
      version: 1,
      attempt: 1,
      at: new Date().toISOString(),
      calcomBookingUid: 'metrics-echo-linked',
      action: 'created',
      previousBookingUid: null,
      changedAt: second.updatedAt,
    })
    await eventually('the uid linked by the sync result', async () =>
      (await h.components.store.linkedAppointmentId(ACME, 'metrics-echo-linked')) ? true : undefined,
    )
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_CREATED', {
        uid: 'metrics-echo-linked',
        eventTypeId: 1001,
        start: futureSlot(1, 15),
        metadata: { [CALSYNC_METADATA.appointmentId]: second.id, [CALSYNC_METADATA.tenantId]: ACME },
      }),
    )
    // Applied, then the same booking again under a new delivery id (a Cal.com retry).
    const customer = bookingWebhook('BOOKING_CREATED', {
      uid: 'metrics-new',
      eventTypeId: 1001,
      start: futureSlot(1, 11),
    })
    await h.deliverWebhook(ACME, customer)
    await scrapeUntil('the booking applied', (s) => s.value(PROCESSED, { result: 'applied' }) === 1)
    await h.deliverWebhook(ACME, customer)
    // Conflict: a Cal.com booking over the slot a local channel already holds (I2).
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_CREATED', { uid: 'metrics-clash', eventTypeId: 1001, start: futureSlot(1, 9) }),
    )
    // Deferred while its booking might still be on its way, then reviewed: a cancellation of a
    // booking calsync never knew, of an event type the tenant has not configured (so it cannot be
    // recorded as a cancelled booking here; accepted webhooks are applied or reviewed, never dropped).
    await h.deliverWebhook(
      ACME,
      bookingWebhook('BOOKING_CANCELLED', { uid: 'metrics-unknown', eventTypeId: 4040, start: futureSlot(1, 13) }),
    )

    // Every webhook handled: the first echo waits out redeliveries of its own, and under load the
    // cancellation can reach review before it.
    const scrape = await scrapeUntil(
      'the unknown cancellation sent to review and both echoes handled',
      (s) =>
        s.value(PROCESSED, { trigger: 'BOOKING_CANCELLED', result: 'review' }) === 1 &&
        s.value(PROCESSED, { trigger: 'BOOKING_CREATED', result: 'echo' }) === 2,
    )
    expect(scrape.value(PROCESSED, { trigger: 'BOOKING_CANCELLED', result: 'deferred' })).toBe(4)
    expect(scrape.types.get(PROCESSED)).toBe('counter')
    const processed = (trigger: string, result: string) => scrape.value(PROCESSED, { trigger, result })
    expect(processed('BOOKING_CREATED', 'echo')).toBe(2)
    expect(processed('BOOKING_CREATED', 'applied')).toBe(1)
    expect(processed('BOOKING_CREATED', 'duplicate')).toBe(1)
    expect(processed('BOOKING_CREATED', 'conflict')).toBe(1)
    expect(processed('BOOKING_CANCELLED', 'review')).toBe(1)
    // Changes that came from Cal.com are published with their origin (calcom-sync skips them).
    await h.components.relay.runOnce()
    expect((await scrapeApp(h.app)).value(PUBLISHED, { type: 'appointment.booked', origin: 'calcom' })).toBe(2)
  })

  it('reports the backlog of both durable consumers, read at scrape time', async () => {
    await eventually('the consumers to drain', async () => ((await h.consumersIdle()) ? true : undefined))
    const scrape = await scrapeApp(h.app)
    const consumers = consumerDefinitions(h.names)
    for (const definition of [consumers.appointmentsWebhooks, consumers.appointmentsSyncResults]) {
      const labels = { stream: definition.stream, consumer: definition.durable }
      expect(scrape.value('calsync_consumer_pending', labels), definition.durable).toBe(0)
      expect(scrape.value('calsync_consumer_ack_pending', labels), definition.durable).toBe(0)
    }
    expect(scrape.types.get('calsync_consumer_pending')).toBe('gauge')
  })
})
