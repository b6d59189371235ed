import { CALSYNC_METADATA } from '@calsync/contracts'
import { afterAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { type ServiceProcess, startServiceProcess } from '../../../test/support/service-process.ts'
import { type Stack, startStack } from '../../../test/support/stack.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'

const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
/** 150 for the run (`CALSYNC_LOAD_APPOINTMENTS=150`); fewer by default to keep the suite short. */
const APPOINTMENTS = Number(process.env.CALSYNC_LOAD_APPOINTMENTS ?? 45)
/** Cal.com's limit per API key; calcom-sync's default budget (100 per 60 s) stays below it. */
const SANDBOX_LIMIT = 120

async function inBatches(count: number, work: (index: number) => Promise<void>, size = 10): Promise<void> {
  for (let from = 0; from < count; from += size) {
    await Promise.all(Array.from({ length: Math.min(size, count - from) }, (_, offset) => work(from + offset)))
  }
}

describe('two calcom-sync processes, one Cal.com budget per API key', () => {
  let stack: Stack | undefined
  const workers: ServiceProcess[] = []
  afterAll(async () => {
    for (const worker of workers) worker.managed.child.kill('SIGTERM')
    await Promise.all(workers.map((worker) => worker.exited))
    await stack?.close()
  })

  it(
    `syncs a burst of ${APPOINTMENTS} appointments with cancels and reschedules of a third each: nothing given up, no 429`,
    async () => {
      const s = await startStack({ startSync: false, sandboxRateLimit: SANDBOX_LIMIT })
      stack = s
      for (let i = 0; i < 2; i++) {
        workers.push(
          await startServiceProcess('calcom-sync', {
            names: s.names,
            dbName: s.syncDb.databaseName,
            portVariable: 'CALCOM_SYNC_PORT',
            env: {
              CALCOM_API_URL: s.sandboxUrl,
              CALSYNC_SYNC_BACKOFF: '200ms,500ms,1s',
              CALCOM_TIMEOUT: '5s',
              // Far below the waits for the budget: only the "working" heartbeat keeps messages alive.
              CALSYNC_SYNC_ACK_WAIT: '3s',
              CALSYNC_LEASE_TTL: '3s',
              LOG_LEVEL: 'info',
            },
          }),
        )
      }
      const h = s.appointments
      const slot = (i: number) => futureSlot(Math.floor(i / 8), 8 + (i % 8))
      const ids: string[] = []
      // Ten requests at a time: the burst is calcom-sync's (every event within seconds); the embedded
      // SQLite database answers busy to a hundred concurrent writers.
      await inBatches(APPOINTMENTS, async (i) => {
        const response = await h.api(ADMIN, 'POST', '/v1/appointments', {
          eventTypeId: 1001,
          start: slot(i),
          attendee: { name: `Load ${i}`, email: `load-${i}@example.org`, timeZone: 'UTC' },
        })
        expect(response.statusCode).toBe(201)
        ids[i] = response.json().id
      })
      // A third cancelled, a third moved half an hour later, at once, while the creates are still syncing.
      const expected = new Map<string, { status: 'booked' | 'cancelled'; start: string }>()
      await inBatches(ids.length, async (i) => {
        const id = ids[i] as string
        if (i % 3 === 0) {
          expect((await h.api(ADMIN, 'POST', `/v1/appointments/${id}/cancel`, { reason: 'load' })).statusCode).toBe(200)
          expected.set(id, { status: 'cancelled', start: slot(i) })
        } else if (i % 3 === 1) {
          const start = new Date(Date.parse(slot(i)) + 30 * 60_000).toISOString()
          const moved = await h.api(ADMIN, 'POST', `/v1/appointments/${id}/reschedule`, { start })
          expect(moved.statusCode).toBe(200)
          expected.set(id, { status: 'booked', start })
        } else expected.set(id, { status: 'booked', start: slot(i) })
      })

      const statuses = await eventually(
        'every appointment synced',
        async () => {
          const all = await Promise.all(
            ids.map(async (id) => (await h.api(ADMIN, 'GET', `/v1/appointments/${id}/sync-status`)).json()),
          )
          return all.every((status) => status.status === 'synced') ? all : undefined
        },
        Math.max(120_000, APPOINTMENTS * 3_000),
      )

      const requests = s.sandbox.requests().filter((request) => request.path.startsWith('/v2/'))
      const rateLimited = requests.filter((request) => request.status === 429).length
      process.stdout.write(
        `[load] ${APPOINTMENTS} appointments, 2 workers: ${requests.length} Cal.com calls, ${rateLimited} answered 429\n`,
      )
      expect(rateLimited).toBe(0)
      expect(statuses.filter((status) => status.status === 'failed')).toHaveLength(0)

      const bookings = s.sandbox.bookings()
      for (const [index, id] of ids.entries()) {
        const want = expected.get(id)
        const active = bookings.filter(
          (booking) => booking.metadata[CALSYNC_METADATA.appointmentId] === id && booking.status !== 'cancelled',
        )
        if (want?.status === 'cancelled') expect(active, `appointment ${index}`).toHaveLength(0)
        else {
          expect(active, `appointment ${index}`).toHaveLength(1)
          expect(Date.parse(active[0]?.start ?? '')).toBe(Date.parse(want?.start ?? ''))
          expect(statuses[index].calcomBookingUid).toBe(active[0]?.uid)
        }
      }
      // Nothing given up: no sync_failed, no poison item on the review stream.
      const review = await s.appointments.jsm.streams.info(s.names.streams.review).catch(() => undefined)
      expect(review?.state.messages ?? 0).toBe(0)
    },
    15 * 60_000,
  )
})
