import {
  bearerTokenMatches,
  createHttpApp,
  createServiceMetrics,
  type MetricsAccess,
  startMetricsServer,
} from '@calsync/service-kit'
import { describe, expect, it, onTestFinished } from 'vitest'
import { quietLogger } from '../../../test/support/infra.ts'

const TOKEN = 'metrics-token-0123456789abcdef'

function appWith(access: MetricsAccess) {
  const metrics = createServiceMetrics({ serviceName: 'access-test', access })
  const app = createHttpApp({ logger: quietLogger(), readiness: async () => ({}), metrics })
  onTestFinished(async () => {
    await app.close()
    await metrics.shutdown()
  })
  return { app, metrics }
}

const scrape = (app: ReturnType<typeof appWith>['app'], authorization?: string) =>
  app.inject({ method: 'GET', url: '/metrics', ...(authorization ? { headers: { authorization } } : {}) })

describe('GET /metrics access', () => {
  it('is open on the service port when neither a token nor a port is set', async () => {
    const { app } = appWith({})
    const response = await scrape(app)
    expect(response.statusCode).toBe(200)
    expect(response.body).toContain('target_info{service_name="access-test"')
  })

  it('wants the bearer token when one is set, and answers 401 without echoing it', async () => {
    const { app } = appWith({ token: TOKEN })
    for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, 'Bearer ']) {
      const response = await scrape(app, authorization)
      expect(response.statusCode, String(authorization)).toBe(401)
      expect(response.json()).toEqual({ error: 'unauthorized', message: expect.any(String) })
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/)
      expect(response.body).not.toContain(TOKEN)
    }
    const allowed = await scrape(app, `Bearer ${TOKEN}`)
    expect(allowed.statusCode).toBe(200)
    expect(allowed.body).toContain('process_cpu_time_seconds_total')
    // Health checks stay open for probes.
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
  })

  it('moves to a port of its own: the service port answers 404, the metrics port serves it (token and all)', async () => {
    const { app, metrics } = appWith({ token: TOKEN, port: 0 })
    const onServicePort = await scrape(app, `Bearer ${TOKEN}`)
    expect(onServicePort.statusCode).toBe(404)
    expect(onServicePort.json()).toMatchObject({ error: 'not_found' })

    const server = await startMetricsServer({ metrics, host: '127.0.0.1', port: 0, logger: quietLogger() })
    onTestFinished(() => server.close())
    const url = `http://127.0.0.1:${server.port}`
    expect((await fetch(`${url}/metrics`)).status).toBe(401)
    const allowed = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(await allowed.text()).toContain('target_info{service_name="access-test"')
    const other = await fetch(`${url}/readyz`)
    expect(other.status).toBe(404)
    expect(await other.json()).toMatchObject({ error: 'not_found' })
  })

  it('matches the token exactly, whatever its case of scheme', () => {
    expect(bearerTokenMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true)
    expect(bearerTokenMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true)
    expect(bearerTokenMatches(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN)).toBe(false)
    expect(bearerTokenMatches(`Bearer ${TOKEN.toUpperCase()}`, TOKEN)).toBe(false)
    expect(bearerTokenMatches(undefined, TOKEN)).toBe(false)
    expect(bearerTokenMatches(TOKEN, TOKEN)).toBe(false)
  })
})
