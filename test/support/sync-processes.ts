// calcom-sync as real processes for the whole-sync schedules, under a supervisor: a process that
// dies (SIGKILLed by a test, or by its own fault injection at a chosen point) is started again,
// unarmed, as an orchestrator would restart a crashed container.
import { type ServiceProcess, startServiceProcess } from './service-process.ts'
import type { Stack } from './stack.ts'

/** Where a worker can be made to die (calcom-sync's CALSYNC_FAULT_INJECTION points). */
export type SyncKillPoint = 'during-lease' | 'after-calcom-answer' | 'before-result-publish'

export async function startSyncProcesses(s: Stack, count: number) {
  const env = {
    CALCOM_API_URL: s.sandboxUrl,
    // The in-process stack's settings (test/support/stack.ts), so schedules behave the same.
    CALSYNC_SYNC_BACKOFF: '50ms,100ms,150ms',
    CALCOM_TIMEOUT: '1s',
    CALSYNC_SYNC_ACK_WAIT: '3s',
    CALSYNC_LEASE_TTL: '3s',
    CALSYNC_CALCOM_CALLS_PER_MINUTE: '1000',
    CALSYNC_SYNC_CONCURRENCY: '4',
    // Held-back webhooks are the schedules' own perturbation: no reconcile pass repairs them early.
    CALSYNC_RECONCILE_INTERVAL: '0s',
    // Every schedule's day (hundreds of days ahead) is in the window a pass compares in full.
    CALSYNC_RECONCILE_HORIZON: '20000h',
    LOG_LEVEL: 'info',
  }
  const slots: Array<ServiceProcess | undefined> = Array.from({ length: count })
  let closing = false
  let deaths = 0

  async function launch(index: number, point?: SyncKillPoint): Promise<void> {
    const started = await startServiceProcess('calcom-sync', {
      names: s.names,
      dbName: s.syncDb.databaseName,
      portVariable: 'CALCOM_SYNC_PORT',
      env: { ...env, CALSYNC_FAULT_INJECTION: point ? `exit-${point}` : 'none' },
      waitReady: false,
    })
    slots[index] = started
    void started.exited.then(() => {
      if (slots[index] !== started || closing) return
      deaths++
      slots[index] = undefined
      void launch(index)
    })
  }
  for (let index = 0; index < count; index++) await launch(index)

  return {
    deaths: () => deaths,
    /** SIGKILLs worker `index` now and starts it again set to die at `point`. */
    async killAndArm(index: number, point: SyncKillPoint) {
      const current = slots[index % count]
      slots[index % count] = undefined
      await current?.managed.kill()
      deaths++
      await launch(index % count, point)
    },
    async close() {
      closing = true
      await Promise.all(slots.map((slot) => slot?.managed.stop()))
    },
  }
}
