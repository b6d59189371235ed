// Composition root of review: the only module that reads env, connects, listens and shuts down.
import { consumerDefinitions, streamDefinitions } from '@calsync/contracts'
import { ensureConsumer, ensureStream, installShutdown, runMain, startRuntime } from '@calsync/service-kit'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'
import { advisoriesStreamDefinition, reviewAdvisoriesDefinition } from './intake/max-deliveries-consumer.ts'
import { reviewSyncResultsDefinition } from './intake/sync-results-consumer.ts'
import { startComponents } from './wiring.ts'

runMain('review', async () => {
  const config = loadConfig(process.env)
  const runtime = await startRuntime({ config, env: process.env, useMongo: true })
  if (!config.adminToken) {
    runtime.logger.warn('CALSYNC_ADMIN_TOKEN is not set: only tenant tokens can use the review API')
  }
  const streams = streamDefinitions(config.names)
  // Review reads the sync stream too; whichever service starts first creates it.
  for (const stream of [streams.review, streams.sync, advisoriesStreamDefinition(config.names)]) {
    await ensureStream(runtime.jsm, stream)
  }
  for (const consumer of [
    consumerDefinitions(config.names).review,
    reviewSyncResultsDefinition(config.names),
    reviewAdvisoriesDefinition(config.names),
  ]) {
    await ensureConsumer(runtime.jsm, consumer)
  }
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
  })
  const app = buildApp({
    logger: runtime.logger,
    readiness: async () => ({ ...(await runtime.checkConnections()), consumers: components.consumersRunning() }),
    metrics: runtime.metrics,
    items: components.items,
    results: components.results,
    commands: components.commands,
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
