import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Names, streamDefinitions } from '@calsync/contracts'
import { createLogger, createServiceMetrics, ensureStream, type TenantRegistry } from '@calsync/service-kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { signCalcom as sign } from '../../../../test/support/calcom-webhooks.ts'
import { connectTestNats, uniqueNames } from '../../../../test/support/infra.ts'
import { LOG_DIR } from '../../../../test/support/logs.ts'
import { readStream } from '../../../../test/support/streams.ts'
import { ACME, BRIGHT, openTestTenants, TEST_SECRETS } from '../../../../test/support/tenants.ts'
import { buildApp } from '../../src/app.ts'

export { sign }

export const SECRETS: Record<string, string> = {
  [ACME]: TEST_SECRETS.ACME_WEBHOOK_SECRET,
  [BRIGHT]: TEST_SECRETS.BRIGHT_WEBHOOK_SECRET,
}

export interface PostOptions {
  /** A header value, `null` to send none; default: signed with the tenant's secret. */
  signature?: string | null
  contentType?: string | null
}

export interface HarnessOptions {
  rateLimitPerMinute?: number
  replayWindowMs?: number
  clock?: () => Date
  /** False leaves the streams uncreated, so every publish fails. */
  createStreams?: boolean
}

/**
 * A log destination that keeps the lines for assertions and also writes them where the global
 * teardown searches every service log for secrets (I7).
 */
function capturingLogger(name: string) {
  mkdirSync(LOG_DIR, { recursive: true })
  const file = join(LOG_DIR, `${name}-${process.pid}.log`)
  const lines: string[] = []
  const destination = {
    write(line: string) {
      lines.push(line)
      appendFileSync(file, line)
    },
  }
  const logger = createLogger({ name, level: 'debug', destination })
  return { logger, lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) }
}

/** The gateway wired as main.ts wires it, against the suite's NATS, driven through app.inject(). */
export async function startGatewayHarness(options: HarnessOptions = {}) {
  const names: Names = uniqueNames()
  const nc: NatsConnection = await connectTestNats()
  const jsm = await jetstreamManager(nc)
  const streams = streamDefinitions(names)
  if (options.createStreams !== false) {
    for (const stream of [streams.webhooks, streams.review]) await ensureStream(jsm, stream)
  }
  const tenants: TenantRegistry = await openTestTenants(nc, names)
  const logs = capturingLogger('webhook-gateway')
  const metrics = createServiceMetrics({ serviceName: 'webhook-gateway', logger: logs.logger })
  const app: FastifyInstance = buildApp({
    logger: logs.logger,
    readiness: async () => ({ nats: !nc.isClosed() }),
    tenants,
    js: jetstream(nc),
    names,
    metrics,
    config: {
      replayWindowMs: options.replayWindowMs ?? 15 * 60_000,
      rateLimitPerMinute: options.rateLimitPerMinute ?? 600,
    },
    ...(options.clock ? { clock: options.clock } : {}),
  })

  /** POSTs a body as Cal.com would; every answer is checked never to be a 5xx but 503, nor to echo a secret. */
  async function post(tenantId: string, body: string, postOptions: PostOptions = {}): Promise<LightMyRequestResponse> {
    const secret = SECRETS[tenantId] ?? 'no-such-secret'
    const signature = postOptions.signature === undefined ? sign(body, secret) : postOptions.signature
    const contentType = postOptions.contentType === undefined ? 'application/json' : postOptions.contentType
    const headers: Record<string, string> = {}
    if (signature !== null) headers['x-cal-signature-256'] = signature
    if (contentType !== null) headers['content-type'] = contentType
    const response = await app.inject({ method: 'POST', url: `/webhooks/calcom/${tenantId}`, headers, payload: body })
    expect(response.statusCode < 500 || response.statusCode === 503, `status ${response.statusCode}`).toBe(true)
    if (response.statusCode === 503) expect(response.json().error).toBe('unavailable')
    for (const value of [...Object.values(TEST_SECRETS), ...(signature ? [signature] : [])]) {
      expect(response.body).not.toContain(value)
    }
    return response
  }

  return {
    names,
    nc,
    jsm,
    app,
    tenants,
    post,
    logLines: logs.lines,
    async messageCounts() {
      const [webhooks, review] = await Promise.all([
        jsm.streams.info(names.streams.webhooks),
        jsm.streams.info(names.streams.review),
      ])
      return { webhooks: webhooks.state.messages, review: review.state.messages }
    },
    webhookMessages: <T = unknown>(subject?: string) =>
      readStream<T>(jsm, names.streams.webhooks, (s) => subject === undefined || s === subject),
    reviewMessages: <T = unknown>(subject?: string) =>
      readStream<T>(jsm, names.streams.review, (s) => subject === undefined || s === subject),
    async close() {
      await app.close()
      await metrics.shutdown()
      await tenants.stop()
      if (!nc.isClosed()) await nc.drain()
    },
  }
}

export type GatewayHarness = Awaited<ReturnType<typeof startGatewayHarness>>
