import type { Names } from '@calsync/contracts'
import {
  createHttpApp,
  type Logger,
  openWebhookActivity,
  type ReadinessChecks,
  type ServiceMetrics,
  type TenantRegistry,
} from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { FastifyInstance } from 'fastify'
import type { WebhookSettings } from './config.ts'
import { createGatewayMetrics } from './metrics.ts'
import { createRateLimiter } from './webhooks/rate-limiter.ts'
import { createReplayWindow } from './webhooks/replay-window.ts'
import { createWebhookPublisher, type QueueFault } from './webhooks/webhook-publisher.ts'
import { WEBHOOK_BODY_LIMIT_BYTES, webhookRoutes } from './webhooks/webhook-routes.ts'

export interface AppDeps {
  logger: Logger
  readiness: ReadinessChecks
  tenants: TenantRegistry
  js: JetStreamClient
  names: Names
  config: WebhookSettings
  /** This service's registry: its counters, served as `/metrics`. */
  metrics: ServiceMetrics
  /** Defaults to the system clock; tests pin it to make the replay window and rate limit exact. */
  clock?: () => Date
  /** Test-only: makes a store fail as JetStream's can, so the gateway answers 503 (schedules of the model test). */
  queueFault?: QueueFault
}

/** The gateway's HTTP surface (DESIGN §4.3). No env, no listen, no connections of its own. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const clock = deps.clock ?? (() => new Date())
  const app = createHttpApp({
    logger: deps.logger,
    readiness: deps.readiness,
    metrics: deps.metrics,
    bodyLimit: WEBHOOK_BODY_LIMIT_BYTES,
    api: {
      title: 'calsync webhook gateway',
      version: '0.1.0',
      description:
        'Takes Cal.com webhook deliveries, checks them (signature, tenant, replay window, rate limit) and queues them in JetStream.',
    },
  })
  app.register(webhookRoutes, {
    tenants: deps.tenants,
    publisher: createWebhookPublisher({
      js: deps.js,
      names: deps.names,
      clock,
      ...(deps.queueFault ? { queueFault: deps.queueFault } : {}),
    }),
    rateLimiter: createRateLimiter({ perMinute: deps.config.rateLimitPerMinute, clock }),
    replayWindow: createReplayWindow({ windowMs: deps.config.replayWindowMs, clock }),
    activity: openWebhookActivity({ js: deps.js, names: deps.names, logger: deps.logger, clock }),
    metrics: createGatewayMetrics(
      deps.metrics.meter,
      deps.tenants.all().map((tenant) => tenant.id),
    ),
  })
  return app
}
