// Composition root of webhook-gateway: the only module that reads env, connects, listens and shuts down.
import { streamDefinitions } from '@calsync/contracts'
import { ensureStream, installShutdown, runMain, startRuntime } from '@calsync/service-kit'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'

runMain('webhook-gateway', async () => {
  const config = loadConfig(process.env)
  const runtime = await startRuntime({ config, env: process.env, useMongo: false })
  const streams = streamDefinitions(config.names)
  for (const stream of [streams.webhooks, streams.review]) await ensureStream(runtime.jsm, stream)

  const app = buildApp({
    logger: runtime.logger,
    readiness: () => runtime.checkConnections(),
    tenants: runtime.tenants,
    js: runtime.js,
    names: config.names,
    config,
    metrics: runtime.metrics,
  })
  await app.listen({ host: config.host, port: config.port })
  runtime.logger.info(
    { replayWindowMs: config.replayWindowMs, rateLimitPerMinute: config.rateLimitPerMinute },
    'webhook gateway listening',
  )

  // Order: stop taking requests, then close what they used.
  installShutdown({
    logger: runtime.logger,
    steps: [{ name: 'http server', run: () => app.close() }, ...runtime.closeSteps()],
  })
})
