import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Real servers: give slow starts room, but never retry a failing test into a pass.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    retry: 0,
    pool: 'forks',
    maxWorkers: 2,
  },
})
