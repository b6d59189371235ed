import { execFileSync } from 'node:child_process'
import { type AppointmentEvent, CALSYNC_METADATA } from '@calsync/contracts'
import { publishMessage } from '@calsync/service-kit'
import { afterEach, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { startServiceProcess } from '../../../test/support/service-process.ts'
import { type Stack, startStack } from '../../../test/support/stack.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'

const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const attendee = { name: 'Ines Vo', email: 'ines@example.org', timeZone: 'UTC' }

describe('exactly one Cal.com booking per appointment (I4)', () => {
  let stack: Stack | undefined
  afterEach(async () => {
    await stack?.close()
    stack = undefined
  })

  const statusOf = async (s: Stack, id: string) =>
    (await s.appointments.api(ADMIN, 'GET', `/v1/appointments/${id}/sync-status`)).json()
  const createCalls = (s: Stack) =>
    s.sandbox.requests().filter((request) => request.method === 'POST' && request.path === '/v2/bookings')

  it('survives the worker being killed right after its create request went out', async () => {
    const s = await startStack({ startSync: false })
    stack = s
    // Cal.com takes its time: the worker dies while waiting; the booking is made all the same.
    s.sandbox.addFault({ method: 'POST', path: '/v2/bookings' }, { delayMs: 1500 }, 1)
    const worker = await startServiceProcess('calcom-sync', {
      names: s.names,
      dbName: s.syncDb.databaseName,
      portVariable: 'CALCOM_SYNC_PORT',
      env: {
        CALCOM_API_URL: s.sandboxUrl,
        CALSYNC_SYNC_BACKOFF: '50ms,100ms,150ms',
        CALCOM_TIMEOUT: '1s',
        CALSYNC_SYNC_ACK_WAIT: '3s',
        CALSYNC_LEASE_TTL: '3s',
      },
    })
    const created = (
      await s.appointments.api(ADMIN, 'POST', '/v1/appointments', {
        eventTypeId: 1001,
        start: futureSlot(0, 9),
        attendee,
      })
    ).json()
    await eventually('the create request to reach Cal.com', async () => (createCalls(s).length > 0 ? true : undefined))
    // The tether's child is the service itself: kill that, hard.
    const servicePid = Number(
      execFileSync('pgrep', ['-P', String(worker.managed.child.pid)], { encoding: 'utf8' }).trim(),
    )
    process.kill(servicePid, 'SIGKILL')
    await worker.exited
    await eventually('Cal.com to commit the booking', async () => (s.sandbox.bookings().length > 0 ? true : undefined))

    await s.startSync()
    const status = await eventually('synced after the restart', async () => {
      const current = await statusOf(s, created.id)
      return current.status === 'synced' ? current : undefined
    })
    const ours = s.sandbox
      .bookings()
      .filter((booking) => booking.metadata[CALSYNC_METADATA.appointmentId] === created.id)
    expect(ours).toHaveLength(1)
    expect(status.calcomBookingUid).toBe(ours[0]?.uid)
    expect(createCalls(s)).toHaveLength(1)
  }, 60_000)

  it('converges on shuffled, duplicated events with at most one booking created', async () => {
    const s = await startStack({ startSync: false })
    stack = s
    const h = s.appointments
    const created = (
      await h.api(ADMIN, 'POST', '/v1/appointments', { eventTypeId: 1001, start: futureSlot(1, 9), attendee })
    ).json()
    await h.api(ADMIN, 'POST', `/v1/appointments/${created.id}/reschedule`, { start: futureSlot(1, 11) })
    await h.api(ADMIN, 'POST', `/v1/appointments/${created.id}/reschedule`, { start: futureSlot(1, 14) })
    await h.api(ADMIN, 'POST', `/v1/appointments/${created.id}/cancel`, { reason: 'moved away' })
    const events = await eventually('four events', async () => {
      await h.components.relay.runOnce()
      const found = await h.events(created.id)
      return found.length === 4 ? found : undefined
    })
    const [v1, v2, v3, v4] = events.map((event) => event.body as AppointmentEvent)
    // Out of order and twice over, as retries and redeliveries can make it.
    await h.jsm.streams.purge(s.names.streams.appointments)
    const shuffled = [v2, v1, v3, v2, v4, v1, v3] as AppointmentEvent[]
    for (const [index, event] of shuffled.entries()) {
      await publishMessage(
        h.js,
        s.names.subjects.appointmentEvent('acme-dental', event.type.slice('appointment.'.length)),
        event,
        {
          msgId: `${event.eventId}:copy${index}`,
        },
      )
    }
    await s.startSync()
    let last: unknown
    await eventually('the final version to be synced', async () => {
      const current = await statusOf(s, created.id)
      last = current
      return current.status === 'synced' && current.syncedVersion === 4 ? current : undefined
    }).catch((error: Error) => {
      throw new Error(
        `${error.message}: ${JSON.stringify(last)} ${JSON.stringify(s.sandbox.requests().map((r) => [r.method, r.path, r.status]))}`,
      )
    })
    await eventually('every copy to be consumed', async () => {
      const info = await h.jsm.consumers.info(s.names.streams.appointments, s.names.consumers.calcomSync)
      return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined
    })
    const ours = s.sandbox
      .bookings()
      .filter((booking) => booking.metadata[CALSYNC_METADATA.appointmentId] === created.id)
    expect(ours.every((booking) => booking.status === 'cancelled')).toBe(true)
    expect(createCalls(s).length).toBeLessThanOrEqual(1)
    expect(v4?.type).toBe('appointment.cancelled')
  }, 60_000)
})
