import { execFileSync } from 'node:child_process'
import { CALSYNC_METADATA } from '@calsync/contracts'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { type ServiceProcess, startServiceProcess } from '../../../test/support/service-process.ts'
import { type Stack, startStack } from '../../../test/support/stack.ts'
import { futureSlot, TEST_SECRETS } from '../../../test/support/tenants.ts'

const ADMIN = TEST_SECRETS.ACME_ADMIN_TOKEN
const RUNS = Number(process.env.CALSYNC_KILL_RUNS ?? 30)

type Change = 'create' | 'reschedule' | 'cancel'
/** Where the worker dies: Cal.com slow (the kill lands while the request is out), or committing and dropping the answer. */
type Fault = { kind: 'delay'; ms: number } | { kind: 'commitThenDrop' } | { kind: 'none' }

interface KillPoint {
  /** The changes made, in order; the kill comes after the last one was handed to the worker. */
  changes: Change[]
  /** The Cal.com call of this change is slowed or loses its answer. */
  faultOn: Change
  fault: Fault
  /** Milliseconds after the faulty request reached Cal.com (or after the last change) before SIGKILL. */
  killAfterMs: number
}

const PATH_OF: Record<Change, string> = {
  create: '^/v2/bookings$',
  reschedule: '^/v2/bookings/[^/]+/reschedule$',
  cancel: '^/v2/bookings/[^/]+/cancel$',
}

describe('a worker SIGKILLed at random points of create, reschedule and cancel', () => {
  let stack: Stack | undefined
  let worker: ServiceProcess | undefined
  afterAll(async () => {
    worker?.managed.child.kill('SIGTERM')
    await worker?.exited
    await stack?.close()
  })

  const startWorker = async (s: Stack) =>
    startServiceProcess('calcom-sync', {
      names: s.names,
      dbName: s.syncDb.databaseName,
      portVariable: 'CALCOM_SYNC_PORT',
      env: {
        CALCOM_API_URL: s.sandboxUrl,
        CALSYNC_SYNC_BACKOFF: '100ms,200ms,400ms,800ms,1s',
        CALCOM_TIMEOUT: '2s',
        CALSYNC_SYNC_ACK_WAIT: '1s',
        // The killed worker's lease frees after this.
        CALSYNC_LEASE_TTL: '1500ms',
        LOG_LEVEL: 'info',
      },
    })
  const killHard = async (process_: ServiceProcess) => {
    // The tether's child is the service itself: kill that, hard.
    const pid = Number(
      execFileSync('pgrep', ['-P', String(process_.managed.child.pid)], { encoding: 'utf8' }).trim() || 0,
    )
    if (pid) process.kill(pid, 'SIGKILL')
    await process_.exited
  }

  it(
    `never leaves two active bookings for one appointment, and converges to the newest version (${RUNS} kills)`,
    async () => {
      const s = await startStack({ startSync: false })
      stack = s
      const h = s.appointments
      const pointArb: fc.Arbitrary<KillPoint> = fc
        .record({
          length: fc.integer({ min: 1, max: 3 }),
          faultIndex: fc.nat(2),
          fault: fc.oneof(
            fc.record({ kind: fc.constant('delay' as const), ms: fc.integer({ min: 50, max: 1500 }) }),
            fc.constant({ kind: 'commitThenDrop' as const }),
            fc.constant({ kind: 'none' as const }),
          ),
          killAfterMs: fc.integer({ min: 0, max: 400 }),
        })
        .map(({ length, faultIndex, fault, killAfterMs }) => {
          const changes = (['create', 'reschedule', 'cancel'] as const).slice(0, length)
          return { changes: [...changes], faultOn: changes[faultIndex % length] ?? 'create', fault, killAfterMs }
        })
      const seed = Number(process.env.CALSYNC_KILL_SEED ?? Date.now() % 1e9)
      process.stdout.write(
        `[kill-points] seed ${seed} (CALSYNC_KILL_SEED to repeat; CALSYNC_KILL_POINT='<json>' for one point)\n`,
      )
      const points: KillPoint[] = process.env.CALSYNC_KILL_POINT
        ? [JSON.parse(process.env.CALSYNC_KILL_POINT)]
        : fc.sample(pointArb, { numRuns: RUNS, seed })

      worker = await startWorker(s)
      for (const [run, point] of points.entries()) {
        const label = `run ${run}: ${JSON.stringify(point)}`
        const calls = () => s.sandbox.requests().length
        const before = calls()
        if (point.fault.kind !== 'none') {
          const action = point.fault.kind === 'delay' ? { delayMs: point.fault.ms } : { commitThenDrop: true as const }
          s.sandbox.addFault({ method: 'POST', path: PATH_OF[point.faultOn] }, action, 1)
        }
        // A day of its own per run: the move an hour later never meets another run's appointment.
        const start = futureSlot(run, 9)
        const response = await h.api(ADMIN, 'POST', '/v1/appointments', {
          eventTypeId: 1001,
          start,
          attendee: { name: `Kill ${run}`, email: `kill-${run}@example.org`, timeZone: 'UTC' },
        })
        expect(response.statusCode, label).toBe(201)
        const created = response.json()
        let want: { status: 'booked' | 'cancelled'; start: string } = { status: 'booked', start }
        for (const change of point.changes.slice(1)) {
          if (change === 'reschedule') {
            const moved = new Date(Date.parse(start) + 60 * 60_000).toISOString()
            const answer = await h.api(ADMIN, 'POST', `/v1/appointments/${created.id}/reschedule`, { start: moved })
            expect(answer.statusCode, label).toBe(200)
            want = { status: 'booked', start: moved }
          } else {
            const answer = await h.api(ADMIN, 'POST', `/v1/appointments/${created.id}/cancel`, { reason: 'kill test' })
            expect(answer.statusCode, label).toBe(200)
            want = { ...want, status: 'cancelled' }
          }
        }
        // Kill once the worker is at it: a request has reached Cal.com since this run began.
        await eventually(`${label}: a Cal.com call`, async () => (calls() > before ? true : undefined), 20_000)
        await new Promise((resolve) => setTimeout(resolve, point.killAfterMs))
        await killHard(worker)
        s.sandbox.clearFaults()
        worker = await startWorker(s)

        const status = await eventually(
          `${label}: synced after the restart`,
          async () => {
            const current = (await h.api(ADMIN, 'GET', `/v1/appointments/${created.id}/sync-status`)).json()
            const appointment = (await h.api(ADMIN, 'GET', `/v1/appointments/${created.id}`)).json()
            return current.status === 'synced' && appointment.status === want.status ? current : undefined
          },
          30_000,
        )
        const ours = s.sandbox
          .bookings()
          .filter((booking) => booking.metadata[CALSYNC_METADATA.appointmentId] === created.id)
        // One booking ever made as new; the rest are reschedules of it: never two active at once.
        expect(
          ours.filter((booking) => !booking.rescheduledFromUid),
          label,
        ).toHaveLength(1)
        const active = ours.filter((booking) => booking.status !== 'cancelled')
        if (want.status === 'cancelled') expect(active, label).toHaveLength(0)
        else {
          expect(active, label).toHaveLength(1)
          expect(Date.parse(active[0]?.start ?? ''), label).toBe(Date.parse(want.start))
          expect(status.calcomBookingUid, label).toBe(active[0]?.uid)
        }
      }
    },
    20 * 60_000,
  )
})
