// Runs the Cal.com sandbox alone (`npm run service -- calcom-sandbox`, and `npm start`).
import { createEnvReader, createLogger, installShutdown, loadTenantsFile, runMain } from '@calsync/service-kit'
import { createCalcomSandbox } from './sandbox.ts'
import { sandboxTenantsFrom } from './sandbox-tenants.ts'

runMain('calcom-sandbox', async () => {
  const read = createEnvReader(process.env)
  const port = read.port('CALCOM_SANDBOX_PORT', 8090)
  const host = read.string('HOST', '0.0.0.0')
  const tenantsFile = read.string('CALSYNC_TENANTS')
  const webhookUrl = read.optional('CALCOM_SANDBOX_WEBHOOK_URL')
  const rateLimitPerMinute = Number(read.optional('CALCOM_SANDBOX_RATE_LIMIT') ?? 120)
  const logger = createLogger({
    name: 'calcom-sandbox',
    level: read.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'info'),
  })
  const records = await loadTenantsFile(tenantsFile, process.env)
  const sandbox = createCalcomSandbox({ tenants: sandboxTenantsFrom(records, webhookUrl), rateLimitPerMinute, logger })
  await sandbox.app.listen({ host, port })
  logger.info({ tenants: records.length, webhookUrl: webhookUrl ?? null }, 'cal.com sandbox listening')
  installShutdown({ logger, steps: [{ name: 'http server', run: () => sandbox.app.close() }] })
})
