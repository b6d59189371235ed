import { metrics } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { NodeSDK } from '@opentelemetry/sdk-node'
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace'
import type { Logger } from 'pino'
import { createServiceMetrics, type MetricsAccess, type ServiceMetrics } from './metrics.ts'

export interface TelemetryOptions {
  serviceName: string
  /** OTLP/HTTP base URL; spans are exported only when it is set. */
  otlpEndpoint?: string | undefined
  /** How long finished spans wait to be exported in a batch (`OTEL_BSP_SCHEDULE_DELAY`); SDK default 5 s. */
  exportDelayMs?: number | undefined
  /** Extra processors, e.g. an in-memory exporter in tests. */
  spanProcessors?: SpanProcessor[]
  logger?: Logger
  /** How `/metrics` is reached; open on the service port when not given. */
  metricsAccess?: MetricsAccess
}

export interface Telemetry {
  /** This process's metrics registry, served as `GET /metrics`. */
  metrics: ServiceMetrics
  shutdown(): Promise<void>
}

/**
 * Starts the OpenTelemetry SDK for this process. Spans are always created (their ids go into
 * logs and `x-trace-id`), exported only where a processor is configured. Metrics are pulled by
 * scraping `/metrics`; their MeterProvider is also the global one, so `metrics.getMeter()`
 * from `@opentelemetry/api` lands in the same registry.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  // Nothing may be exported by surprise: the SDK would otherwise default to OTLP on localhost.
  process.env.OTEL_TRACES_EXPORTER ??= 'none'
  process.env.OTEL_METRICS_EXPORTER ??= 'none'
  process.env.OTEL_LOGS_EXPORTER ??= 'none'
  const spanProcessors = [...(options.spanProcessors ?? [])]
  if (options.otlpEndpoint) {
    const url = `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces`
    // SDK 3 processors no longer read OTEL_BSP_* themselves.
    const delay = options.exportDelayMs === undefined ? {} : { scheduledDelayMillis: options.exportDelayMs }
    spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), ...delay }))
  }
  // The SDK installs no tracer provider without a processor; spans must exist even unexported.
  if (spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor())
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    spanProcessors,
    // The metrics registry below is built here, not from OTEL_METRICS_EXPORTER.
    metricReaders: [],
    contextManager: new AsyncLocalStorageContextManager(),
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: [],
    autoDetectResources: false,
  })
  sdk.start()
  const serviceMetrics = createServiceMetrics({
    serviceName: options.serviceName,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.metricsAccess ? { access: options.metricsAccess } : {}),
  })
  metrics.setGlobalMeterProvider(serviceMetrics.provider)
  return {
    metrics: serviceMetrics,
    async shutdown() {
      await sdk.shutdown()
      await serviceMetrics.shutdown()
      // A later start in the same process (tests) may register its own provider.
      metrics.disable()
    },
  }
}
