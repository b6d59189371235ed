import {
  AppError,
  createHttpApp,
  createLogger,
  createServiceMetrics,
  startTelemetry,
  type Telemetry,
} from '@calsync/service-kit'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

describe('HTTP app factory', () => {
  let telemetry: Telemetry
  beforeAll(() => {
    telemetry = startTelemetry({ serviceName: 'http-test' })
  })
  afterAll(() => telemetry.shutdown())

  function build(ready = true) {
    const app = createHttpApp({
      logger: createLogger({ name: 'test', level: 'silent' }),
      readiness: async () => ({ nats: true, database: ready }),
      metrics: createServiceMetrics({ serviceName: 'http-test' }),
      bodyLimit: 1024,
    })
    app.post('/things', async () => {
      throw new AppError('slot_unavailable', 'that slot is taken', { statusCode: 409 })
    })
    app.post('/boom', async () => {
      throw new Error('secret internals')
    })
    return app
  }

  it('answers health and readiness, 503 when a check fails', async () => {
    const app = build(false)
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200)
    const ready = await app.inject({ url: '/readyz' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toEqual({ status: 'not_ready', checks: { nats: true, database: false } })
    await app.close()
  })

  it('continues an incoming traceparent and answers with x-trace-id', async () => {
    const app = build()
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const response = await app.inject({
      url: '/healthz',
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    })
    expect(response.headers['x-trace-id']).toBe(traceId)
    const fresh = await app.inject({ url: '/healthz' })
    expect(fresh.headers['x-trace-id']).toMatch(/^[0-9a-f]{32}$/)
    expect(fresh.headers['x-trace-id']).not.toBe(traceId)
    await app.close()
  })

  it('turns every failure into { error, message } with the right status', async () => {
    const app = build()
    const taken = await app.inject({ method: 'POST', url: '/things', payload: {} })
    expect(taken.statusCode).toBe(409)
    expect(taken.json()).toEqual({ error: 'slot_unavailable', message: 'that slot is taken' })

    const internal = await app.inject({ method: 'POST', url: '/boom', payload: {} })
    expect(internal.statusCode).toBe(500)
    expect(internal.json()).toEqual({ error: 'internal_error', message: 'internal error' })

    const tooLarge = await app.inject({ method: 'POST', url: '/things', payload: { x: 'y'.repeat(2000) } })
    expect(tooLarge.statusCode).toBe(413)
    expect(tooLarge.json().error).toBe('payload_too_large')

    const malformed = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    })
    expect(malformed.statusCode).toBe(400)
    expect(malformed.json().error).toBe('bad_request')

    const text = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { 'content-type': 'text/plain' },
      payload: 'hi',
    })
    expect(text.statusCode).toBe(415)
    expect(text.json().error).toBe('unsupported_media_type')

    const missing = await app.inject({ url: '/nowhere' })
    expect(missing.statusCode).toBe(404)
    expect(missing.json().error).toBe('not_found')
    await app.close()
  })

  it('writes one access line per request (route, status, time), none for probes or routes that log their own', async () => {
    const lines: Array<Record<string, unknown>> = []
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
    const app = createHttpApp({
      logger,
      readiness: async () => ({}),
      metrics: createServiceMetrics({ serviceName: 'http-test' }),
    })
    app.get('/things', async () => ({ ok: true }))
    app.get('/quiet', { config: { accessLog: false } }, async () => ({ ok: true }))
    await app.inject({ url: '/things?x=1' })
    await app.inject({ url: '/quiet' })
    await app.inject({ url: '/healthz' })
    expect(lines.map((line) => line.msg)).toEqual(['request completed'])
    expect(lines[0]).toMatchObject({ req: { method: 'GET', url: '/things?x=1' }, res: { statusCode: 200 } })
    expect(typeof lines[0]?.responseTime).toBe('number')
    await app.close()
  })
})
