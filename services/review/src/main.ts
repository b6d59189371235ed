// Composition root of review: the only module that reads env, connects, listens and shuts down.
import { installShutdown, runMain, startRuntime } from '@calsync/service-kit'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'
import { ensureReviewTopology } from './topology.ts'
import { startComponents } from './wiring.ts'

runMain('review', async () => {
  const config = loadConfig(process.env)
  const runtime = await startRuntime({ config, env: process.env, useMongo: true })
  if (!config.adminToken) {
    runtime.logger.warn('CALSYNC_ADMIN_TOKEN is not set: only tenant tokens can use the review API')
  }
  await ensureReviewTopology(runtime.jsm, config.names)
  if (!runtime.db) throw new Error('review needs its database')

  const components = await startComponents({
    db: runtime.db,
    nc: runtime.nc,
    js: runtime.js,
    jsm: runtime.jsm,
    names: config.names,
    tenants: runtime.tenants,
    logger: runtime.logger,
    meter: runtime.metrics.meter,
    adminToken: config.adminToken,
    commandTimeoutMs: config.commandTimeoutMs,
    reconcileTimeoutMs: config.reconcileTimeoutMs,
  })
  const app = buildApp({
    logger: runtime.logger,
    readiness: async () => ({ ...(await runtime.checkConnections()), consumers: components.consumersRunning() }),
    metrics: runtime.metrics,
    items: components.items,
    results: components.results,
    commands: components.commands,
    reconcile: components.reconcile,
    replay: components.replay,
    authenticate: components.authenticate,
  })
  await app.listen({ host: config.host, port: config.port })

  // Order: stop taking requests, finish in-flight messages, drop the advisory subscription, then close connections.
  installShutdown({
    logger: runtime.logger,
    steps: [
      { name: 'http server', run: () => app.close() },
      { name: 'consumers and advisory subscription', run: () => components.stop() },
      ...runtime.closeSteps(),
    ],
  })
})
