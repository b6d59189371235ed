// Composition root of appointments: the only module that reads env, connects, listens and shuts down.
import { consumerDefinitions, streamDefinitions } from '@calsync/contracts'
import { ensureConsumer, ensureStream, installShutdown, runMain, startRuntime } from '@calsync/service-kit'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'
import { startComponents } from './wiring.ts'

runMain('appointments', async () => {
  const config = loadConfig(process.env)
  const runtime = await startRuntime({ config, env: process.env, useMongo: true })
  const streams = streamDefinitions(config.names)
  const consumers = consumerDefinitions(config.names)
  for (const stream of [streams.webhooks, streams.appointments, streams.sync, streams.review]) {
    await ensureStream(runtime.jsm, stream)
  }
  for (const consumer of [consumers.appointmentsWebhooks, consumers.appointmentsSyncResults]) {
    await ensureConsumer(runtime.jsm, consumer)
  }
  if (!runtime.db) throw new Error('appointments needs its database')

  const components = await startComponents({
    db: runtime.db,
    nc: runtime.nc,
    js: runtime.js,
    names: config.names,
    tenants: runtime.tenants,
    logger: runtime.logger,
    meter: runtime.metrics.meter,
    relayIntervalMs: config.relayIntervalMs,
    unknownRescheduleGraceMs: config.unknownRescheduleGraceMs,
    retention: config.retention,
    consumerConcurrency: config.consumerConcurrency,
    ...(config.faultInjection === 'exit-after-event-write'
      ? {
          afterEventWrite: () => {
            process.kill(process.pid, 'SIGKILL')
          },
        }
      : {}),
    ...(config.faultInjection === 'kill-on-poison-webhook'
      ? {
          beforeWebhook: (message: { webhook: { payload: { uid?: string; bookingUid?: string } } }) => {
            const uid = message.webhook.payload.uid ?? message.webhook.payload.bookingUid ?? ''
            if (uid.startsWith('poison-')) process.kill(process.pid, 'SIGKILL')
          },
        }
      : {}),
  })
  const app = buildApp({
    logger: runtime.logger,
    readiness: async () => ({ ...(await runtime.checkConnections()), consumers: components.consumersRunning() }),
    metrics: runtime.metrics,
    service: components.service,
    store: components.store,
    idempotency: components.idempotency,
    authenticate: components.authenticate,
    history: components.history,
  })
  await app.listen({ host: config.host, port: config.port })

  // Order: stop taking requests, finish in-flight messages and publishes, then close connections.
  installShutdown({
    logger: runtime.logger,
    steps: [
      { name: 'http server', run: () => app.close() },
      { name: 'consumers and outbox relay', run: () => components.stop() },
      ...runtime.closeSteps(),
    ],
  })
})
