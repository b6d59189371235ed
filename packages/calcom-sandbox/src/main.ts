// Runs the Cal.com sandbox alone (`npm run service -- calcom-sandbox`, and `npm start`).
import {
  ConfigError,
  createEnvReader,
  createLogger,
  DEFAULT_HOST,
  installShutdown,
  LOG_LEVELS,
  loadTenantsFile,
  runMain,
} from '@calsync/service-kit'
import { createCalcomSandbox } from './calcom-sandbox.ts'
import { sandboxTenantsFrom } from './sandbox-tenants.ts'

runMain('calcom-sandbox', async () => {
  const read = createEnvReader(process.env)
  const port = read.port('CALCOM_SANDBOX_PORT', 8090)
  const host = read.string('HOST', DEFAULT_HOST)
  const tenantsFile = read.string('CALSYNC_TENANTS')
  const webhookUrl = read.optional('CALCOM_SANDBOX_WEBHOOK_URL')
  if (webhookUrl !== undefined && !/^https?:\/\//.test(webhookUrl)) {
    throw new ConfigError('CALCOM_SANDBOX_WEBHOOK_URL', 'must be an http(s) URL template')
  }
  const rateLimitText = read.optional('CALCOM_SANDBOX_RATE_LIMIT') ?? '120'
  const rateLimitPerMinute = Number(rateLimitText)
  if (!Number.isInteger(rateLimitPerMinute) || rateLimitPerMinute < 1) {
    throw new ConfigError('CALCOM_SANDBOX_RATE_LIMIT', `"${rateLimitText}" is not a whole number of requests ≥ 1`)
  }
  const logger = createLogger({ name: 'calcom-sandbox', level: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info') })

  const records = await loadTenantsFile(tenantsFile, process.env)
  const sandbox = createCalcomSandbox({ tenants: sandboxTenantsFrom(records, webhookUrl), rateLimitPerMinute, logger })
  await sandbox.app.listen({ host, port })
  const address = sandbox.app.server.address()
  logger.info(
    {
      port: typeof address === 'object' && address ? address.port : port,
      tenants: records.map((record) => record.id),
      webhookUrl: webhookUrl ?? null,
      rateLimitPerMinute,
    },
    'cal.com sandbox listening',
  )
  installShutdown({ logger, steps: [{ name: 'http server', run: () => sandbox.app.close() }] })
})
