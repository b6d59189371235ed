import type { Meter } from '@opentelemetry/api'
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus'
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'
import type { Logger } from 'pino'
import { observeRuntime } from './runtime-metrics.ts'

export type { Meter } from '@opentelemetry/api'

/** The Prometheus text exposition format, version 0.0.4, as scrapers ask for it. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** Observable callbacks (database counts, consumer info) get this long per scrape. */
const SCRAPE_TIMEOUT_MS = 5_000

/** How `/metrics` is reached (`CALSYNC_METRICS_TOKEN`, `CALSYNC_METRICS_PORT`); empty: open on the service port. */
export interface MetricsAccess {
  /** Scrapes must send `Authorization: Bearer <token>`. */
  token?: string | undefined
  /** Served by a listener of its own on this port; the service port answers 404 for `/metrics`. */
  port?: number | undefined
}

export interface ServiceMetrics {
  /** Where a service creates its instruments. */
  meter: Meter
  provider: MeterProvider
  /** Collects every instrument now (observable ones run their callbacks) and renders the text format. */
  scrape(): Promise<string>
  readonly access: MetricsAccess
  shutdown(): Promise<void>
}

export interface ServiceMetricsOptions {
  serviceName: string
  /** Where failed observable callbacks are reported; the scrape itself still answers. */
  logger?: Logger
  access?: MetricsAccess
}

/**
 * One metrics registry: a MeterProvider whose only reader is pulled when `/metrics` is scraped.
 * Each service process has one (see `startTelemetry`); an in-process test builds one per service,
 * so each app's `/metrics` shows only what that service counted.
 */
export function createServiceMetrics(options: ServiceMetricsOptions): ServiceMetrics {
  // Only the reader half of the exporter: calsync's own listeners serve `/metrics` (metrics-endpoint.ts).
  const reader = new PrometheusExporter({ preventServerStart: true })
  const provider = new MeterProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName })),
    readers: [reader],
  })
  // Scope labels would add `otel_scope_name` to every series; `target_info` names the service.
  const serializer = new PrometheusSerializer('', false, undefined, false, true)
  const meter = provider.getMeter('calsync')
  const runtime = observeRuntime(meter)
  return {
    meter,
    provider,
    access: options.access ?? {},
    async scrape() {
      const { resourceMetrics, errors } = await reader.collect({ timeoutMillis: SCRAPE_TIMEOUT_MS })
      if (errors.length > 0) options.logger?.warn({ errors: errors.map(String).slice(0, 5) }, 'metric callbacks failed')
      return serializer.serialize(resourceMetrics)
    },
    async shutdown() {
      runtime.stop()
      await provider.shutdown()
    },
  }
}
