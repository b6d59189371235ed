import { defineConfig } from 'vitest/config'

/** The end-to-end flows: what must hold however many instances of each service run. */
const FLOWS = [
  'test/inbound-flow.test.ts',
  'test/review-flow.test.ts',
  'services/calcom-sync/test/sync-flow.test.ts',
  'services/calcom-sync/test/reconciler.test.ts',
  'services/appointments/test/pending-bookings.test.ts',
  'services/appointments/test/history.test.ts',
  'test/whole-sync.property.test.ts',
]

export default defineConfig({
  test: {
    // Set at the root, so it runs once for both projects (projects extending the root config
    // do not inherit it): one NATS and one database for the whole run.
    globalSetup: ['test/global-setup.ts'],
    // The same property-test cases on every run unless asked for fresh ones (see the file).
    setupFiles: ['test/property-seed.ts'],
    // Real servers: give slow starts room, but never retry a failing test into a pass.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    retry: 0,
    pool: 'forks',
    // Three on two cores: the longest files mostly wait (a 5-minute database outage, ackWait
    // redeliveries, rate budgets), and a third worker runs others meanwhile (518 s vs 824 s).
    maxWorkers: 3,
    projects: [
      {
        extends: true,
        test: {
          // One instance of each service, or CALSYNC_TEST_INSTANCES when set.
          name: 'default',
          include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'two-instances',
          include: FLOWS,
          // The same whole-sync schedules as the default project (about 20 s more).
          env: { CALSYNC_TEST_INSTANCES: '2' },
        },
      },
    ],
  },
})
