// Composition root of appointments: the only module that reads env, connects, listens and shuts down.
import { consumerDefinitions, streamDefinitions } from '@calsync/contracts'
import { ensureConsumer, ensureStream, installShutdown, runMain, startRuntime } from '@calsync/service-kit'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'

runMain('appointments', async () => {
  const config = loadConfig(process.env)
  const runtime = await startRuntime({ config, env: process.env, useMongo: true })
  const streams = streamDefinitions(config.names)
  const consumers = consumerDefinitions(config.names)
  for (const stream of [streams.webhooks, streams.appointments, streams.sync, streams.review])
    await ensureStream(runtime.jsm, stream)
  for (const consumer of [consumers.appointmentsWebhooks, consumers.appointmentsSyncResults])
    await ensureConsumer(runtime.jsm, consumer)

  const app = buildApp({ logger: runtime.logger, readiness: () => runtime.checkConnections() })
  await app.listen({ host: config.host, port: config.port })

  // Order: stop taking requests, then close what they used.
  installShutdown({
    logger: runtime.logger,
    steps: [{ name: 'http server', run: () => app.close() }, ...runtime.closeSteps()],
  })
})
