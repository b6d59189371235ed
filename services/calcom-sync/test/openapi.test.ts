import { createLogger, createServiceMetrics } from '@calsync/service-kit'
import { afterAll, describe, it } from 'vitest'
import { createConformance, expectEveryRouteDocumented } from '../../../test/support/openapi.ts'
import { buildApp } from '../src/app.ts'

describe('the calcom-sync OpenAPI document', () => {
  const logger = createLogger({ name: 'calcom-sync', level: 'silent' })
  const metrics = createServiceMetrics({ serviceName: 'calcom-sync', logger })
  const app = buildApp({ logger, readiness: async () => ({ nats: true, db: false }), metrics })
  afterAll(async () => {
    await app.close()
    await metrics.shutdown()
  })

  it('is valid OpenAPI 3.1 and lists its health, readiness and metrics routes', async () => {
    const document = await expectEveryRouteDocumented(app, [], 'calsync calcom-sync')
    const expectConforms = createConformance(document)
    expectConforms('GET', '/readyz', await app.inject({ method: 'GET', url: '/readyz' }))
    expectConforms('GET', '/healthz', await app.inject({ method: 'GET', url: '/healthz' }))
  })
})
