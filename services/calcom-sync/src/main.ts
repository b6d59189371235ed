// Composition root of calcom-sync: the only module that reads env, connects, listens and shuts down.
import { consumerDefinitions, streamDefinitions } from '@calsync/contracts'
import { ensureConsumer, ensureStream, installShutdown, runMain, startRuntime } from '@calsync/service-kit'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'
import { startComponents } from './wiring.ts'

runMain('calcom-sync', async () => {
  const config = loadConfig(process.env)
  const runtime = await startRuntime({ config, env: process.env, useMongo: true })
  const streams = streamDefinitions(config.names)
  for (const stream of [streams.appointments, streams.sync, streams.review]) await ensureStream(runtime.jsm, stream)
  const definition = { ...consumerDefinitions(config.names).calcomSync, ackWaitMs: config.ackWaitMs }
  await ensureConsumer(runtime.jsm, definition)
  if (!runtime.db) throw new Error('calcom-sync needs its database')

  const components = await startComponents({
    db: runtime.db,
    nc: runtime.nc,
    js: runtime.js,
    names: config.names,
    tenants: runtime.tenants,
    logger: runtime.logger,
    meter: runtime.metrics.meter,
    definition,
    calcomApiUrl: config.calcomApiUrl,
    calcomTimeoutMs: config.calcomTimeoutMs,
    backoffMs: config.backoffMs,
    tenantCallsPerMinute: config.tenantCallsPerMinute,
    concurrency: config.concurrency,
    leaseTtlMs: config.leaseTtlMs,
    reconcileIntervalMs: config.reconcileIntervalMs,
    reconcileBudgetShare: config.reconcileBudgetShare,
    reconcileSettings: { horizonMs: config.reconcileHorizonMs, overlapMs: config.reconcileOverlapMs },
    silenceSettings: { silenceAfterMs: config.webhookSilenceAfterMs, graceMs: config.webhookSilenceGraceMs },
    ...(config.faultInjection === 'none'
      ? {}
      : {
          faultPoint: (point: string) => {
            if (`exit-${point}` === config.faultInjection) process.kill(process.pid, 'SIGKILL')
          },
        }),
  })
  const app = buildApp({
    logger: runtime.logger,
    readiness: async () => ({ ...(await runtime.checkConnections()), consumers: components.consumersRunning() }),
    metrics: runtime.metrics,
  })
  await app.listen({ host: config.host, port: config.port })
  runtime.logger.info({ calcomApiUrl: config.calcomApiUrl, backoffMs: config.backoffMs }, 'calcom-sync running')

  // Order: stop the health port, finish in-flight syncs, then close connections.
  installShutdown({
    logger: runtime.logger,
    steps: [
      { name: 'http server', run: () => app.close() },
      { name: 'sync worker', run: () => components.stop() },
      ...runtime.closeSteps(),
    ],
  })
})
