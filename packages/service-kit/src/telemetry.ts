import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { NodeSDK } from '@opentelemetry/sdk-node'
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace'

export interface TelemetryOptions {
  serviceName: string
  /** OTLP/HTTP base URL; spans are exported only when it is set. */
  otlpEndpoint?: string | undefined
  /** Extra processors, e.g. an in-memory exporter in tests. */
  spanProcessors?: SpanProcessor[]
}

export interface Telemetry {
  shutdown(): Promise<void>
}

/**
 * Starts the OpenTelemetry SDK for this process. Spans are always created (their ids go into
 * logs and `x-trace-id`), exported only where a processor is configured.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  // Nothing may be exported by surprise: the SDK would otherwise default to OTLP on localhost.
  process.env.OTEL_TRACES_EXPORTER ??= 'none'
  process.env.OTEL_METRICS_EXPORTER ??= 'none'
  process.env.OTEL_LOGS_EXPORTER ??= 'none'
  const spanProcessors = [...(options.spanProcessors ?? [])]
  if (options.otlpEndpoint) {
    const url = `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces`
    spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }) }))
  }
  // The SDK installs no tracer provider without a processor; spans must exist even unexported.
  if (spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor())
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    spanProcessors,
    contextManager: new AsyncLocalStorageContextManager(),
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: [],
    autoDetectResources: false,
  })
  sdk.start()
  return { shutdown: () => sdk.shutdown() }
}
