// @calsync/service-kit — what the four calsync services share: config, logging, tracing,
// NATS and MongoDB connections, the HTTP app factory, metrics, graceful shutdown and the tenant registry.

export { ApiText, isStorableText, TEXT_PATTERN, VISIBLE_TEXT_PATTERN } from './api-text.ts'
export { type CommandFailures, sendCommand, serveCommand } from './commands.ts'
export {
  type BaseConfig,
  type BaseConfigOptions,
  createEnvReader,
  DEFAULT_HOST,
  LOG_LEVELS,
  type LogLevel,
  loadBaseConfig,
} from './config.ts'
export { type ConsumerBacklog, type ConsumerBacklogOptions, observeConsumerBacklog } from './consumer-backlog.ts'
export { countDbCommands, type DbCommandTarget, dbCommandTarget } from './db-command-metrics.ts'
export { parseDuration, parseDurationList } from './durations.ts'
export { AppError, ConfigError, DependencyUnavailableError, DuplicateKeyError } from './errors.ts'
export {
  type AttemptsRecord,
  afterSettling,
  attemptsKeyOf,
  CRASHES_BEFORE_PARKING,
  type HandlingAttempts,
  onRedelivery,
  openHandlingAttempts,
} from './handling-attempts.ts'
export { createHttpApp, type HttpAppOptions, type ReadinessChecks, toErrorResponse } from './http-app.ts'
export { parseInstant, requireInstant } from './instants.ts'
export { createLogger, type Logger, type LoggerOptions, REDACTED, redactSecrets } from './logger.ts'
export {
  ack,
  type ConsumerOptions,
  DEFAULT_ERROR_BACKOFF,
  type ErrorBackoff,
  errorBackoffMs,
  type InvalidMessage,
  nak,
  type Outcome,
  type PublishOptions,
  publishMessage,
  type ReceivedMessage,
  type RunningConsumer,
  startConsumer,
  term,
} from './messaging.ts'
export {
  createServiceMetrics,
  type Meter,
  type MetricsAccess,
  PROMETHEUS_CONTENT_TYPE,
  type ServiceMetrics,
  type ServiceMetricsOptions,
} from './metrics.ts'
export { bearerTokenMatches, type MetricsServer, startMetricsServer } from './metrics-endpoint.ts'
export {
  connectMongo,
  insertUnique,
  isDatabaseUnavailable,
  isDuplicateKeyError,
  pingMongo,
  upsertRacing,
} from './mongo.ts'
export { connectNats, ensureConsumer, ensureStream, type NatsOptions } from './nats.ts'
export {
  API_REFERENCE_PATH,
  type ApiDescription,
  BEARER_SECURITY,
  ERROR_BODY_SCHEMA_ID,
  errorResponse,
  jsonBodyErrors,
  OPENAPI_PATH,
  type RouteDocTransform,
} from './openapi.ts'
export { appointmentIdsOfMessage, createPoisonReporter, poisonRequestOf, tenantOfSubject } from './poison-reporter.ts'
export { runMain } from './run-main.ts'
export { type Runtime, type RuntimeOptions, startRuntime } from './runtime.ts'
export { installShutdown, type ShutdownOptions, type ShutdownStep } from './shutdown.ts'
export { getTracer, type SpanOptions, withSpan } from './spans.ts'
export { startTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.ts'
export { type ApplyAction, decideApply, type StoredState } from './tenants/apply-decision.ts'
export { type ApplySummary, applyTenantsTo, type RevisionedStore } from './tenants/apply-tenants.ts'
export { generateRegistryKey, parseRegistryKey, type RegistryKey } from './tenants/registry-key.ts'
export { decodeTenant, encodeTenant } from './tenants/stored-tenant.ts'
export {
  applyTenants,
  openTenantRegistry,
  type TenantRegistry,
  type TokenIdentity,
} from './tenants/tenant-registry.ts'
export {
  loadTenantsDocument,
  loadTenantsFile,
  parseTenantsDocument,
  parseTenantsFile,
  sha256Hex,
  TenantsFileError,
} from './tenants/tenants-file.ts'
export { openWebhookActivity, type WebhookActivity } from './webhook-activity.ts'
export { type LabelSet, labelCombinations, zeroed } from './zeroed-counters.ts'
