import type { AppointmentEvent, ResyncReply, ResyncRequest, SyncStatsReply, SyncStatsRequest } from '@calsync/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'
import { type AppointmentsHarness, startAppointmentsHarness } from './support/harness.ts'

const attendee = { name: 'Lee', email: 'lee@example.org', timeZone: 'UTC' }

describe('appointments commands over NATS', () => {
  let h: AppointmentsHarness
  beforeAll(async () => {
    h = await startAppointmentsHarness()
  })
  afterAll(() => h.close())

  async function command<T>(
    name: string,
    body: ResyncRequest | SyncStatsRequest | Record<string, unknown>,
  ): Promise<T> {
    const reply = await h.nc.request(h.names.subjects.appointmentsCommand(name), JSON.stringify(body), {
      timeout: 5000,
    })
    return reply.json<T>()
  }

  it('re-drives pending and failed syncs older than a given age; a dry run dispatches nothing', async () => {
    const ids: string[] = []
    for (const hour of [9, 10, 11]) {
      const created = await h.api(TEST_SECRETS.ACME_ADMIN_TOKEN, 'POST', '/v1/appointments', {
        eventTypeId: 1001,
        start: futureSlot(0, hour),
        attendee,
      })
      ids.push(created.json().id)
    }
    const other = await h.api(TEST_SECRETS.BRIGHT_API_TOKEN, 'POST', '/v1/appointments', {
      eventTypeId: 2001,
      start: futureSlot(0, 9),
      attendee,
    })
    expect(other.statusCode).toBe(201)
    await h.components.relay.runOnce()

    const request = { type: 'appointments.resync', tenantId: 'acme-dental', dryRun: true, requestedBy: 'test' } as const
    const tooYoung = await command<ResyncReply>('resync', { ...request, olderThanSeconds: 3600 })
    expect(tooYoung).toEqual({ matched: 0, appointmentIds: [], dispatched: 0 })
    const dry = await command<ResyncReply>('resync', { ...request, olderThanSeconds: 0 })
    expect(dry.matched).toBe(3)
    expect(dry.appointmentIds.sort()).toEqual([...ids].sort())
    expect(dry.dispatched).toBe(0)
    await h.components.relay.runOnce()
    expect((await h.events()).filter((event) => event.body.type === 'appointment.sync_requested')).toHaveLength(0)

    const real = await command<ResyncReply>('resync', { ...request, dryRun: false, olderThanSeconds: 0 })
    expect(real).toMatchObject({ matched: 3, dispatched: 3 })
    const redriven = await eventually('the sync_requested events', async () => {
      const found = (await h.events()).filter((event) => event.body.type === 'appointment.sync_requested')
      return found.length === 3 ? found : undefined
    })
    for (const event of redriven) {
      const body = event.body as AppointmentEvent
      expect(body.version).toBe(1)
      expect(event.subject).toBe(h.names.subjects.appointmentEvent('acme-dental', 'sync_requested'))
      expect(body.eventId).not.toBe(`${body.appointmentId}:v1`)
    }
  })

  it('counts sync statuses per tenant, or for all tenants', async () => {
    const since = new Date(Date.now() - 3_600_000).toISOString()
    const acme = await command<SyncStatsReply>('sync-stats', {
      type: 'appointments.sync_stats',
      tenantId: 'acme-dental',
      since,
    })
    expect(acme).toMatchObject({ total: 3, pending: 3, synced: 0, failed: 0 })
    const all = await command<SyncStatsReply>('sync-stats', { type: 'appointments.sync_stats', tenantId: null, since })
    expect(all.total).toBe(4)
  })

  it('answers a malformed command with an error, not silence', async () => {
    const reply = await command<{ error: string; message: string }>('resync', { type: 'appointments.resync' })
    expect(reply.error).toBe('bad_request')
    expect(reply.message).toContain('dryRun')
  })
})
