import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Db, MongoClient } from 'mongodb'
import type { BaseConfig } from './config.ts'
import { createLogger, type Logger } from './logger.ts'
import type { ServiceMetrics } from './metrics.ts'
import { type MetricsServer, startMetricsServer } from './metrics-endpoint.ts'
import { connectMongo, pingMongo } from './mongo.ts'
import { watchMongo } from './mongo-watchdog.ts'
import { connectNats } from './nats.ts'
import type { ShutdownStep } from './shutdown.ts'
import { startTelemetry, type Telemetry } from './telemetry.ts'
import { parseRegistryKey } from './tenants/registry-key.ts'
import { applyTenants, openTenantRegistry, type TenantRegistry } from './tenants/tenant-registry.ts'
import { loadTenantsDocument } from './tenants/tenants-file.ts'

/** The connections every service holds, opened in dependency order by `startRuntime`. */
export interface Runtime {
  config: BaseConfig
  logger: Logger
  telemetry: Telemetry
  /** This process's metrics registry: instruments go on `metrics.meter`, the app serves `/metrics`. */
  metrics: ServiceMetrics
  /** The `/metrics` listener of `CALSYNC_METRICS_PORT`, when set. */
  metricsServer: MetricsServer | undefined
  nc: NatsConnection
  js: JetStreamClient
  jsm: JetStreamManager
  tenants: TenantRegistry
  mongo: MongoClient | undefined
  db: Db | undefined
  /** NATS and (when used) the database answer. */
  checkConnections(): Promise<Record<string, boolean>>
  /** Closing steps after the service's own: tenant watcher, NATS drain, database, telemetry flush. */
  closeSteps(): ShutdownStep[]
}

export interface RuntimeOptions {
  config: BaseConfig
  env: Record<string, string | undefined>
  /** The webhook gateway is stateless and holds no database connection. */
  useMongo: boolean
  logger?: Logger
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config } = options
  // Before anything else: without the key no tenant can be read, so fail in milliseconds.
  const registryKey = parseRegistryKey(config.registryKey)
  const logger = options.logger ?? createLogger({ name: config.serviceName, level: config.logLevel })
  const telemetry = startTelemetry({
    serviceName: config.serviceName,
    otlpEndpoint: config.otlpEndpoint,
    exportDelayMs: config.otlpExportDelayMs,
    logger,
    metricsAccess: { token: config.metricsToken, port: config.metricsPort },
  })
  // Up before any connection, so a scraper sees the process (and its counters at 0) while it starts.
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : await startMetricsServer({ metrics: telemetry.metrics, host: config.host, port: config.metricsPort, logger })
  if (metricsServer) {
    logger.info({ host: config.host, port: metricsServer.port }, 'metrics served on a port of their own')
  }
  // Validate the tenants file before connecting anywhere: a bad file should fail in milliseconds.
  const file = config.tenantsFile ? await loadTenantsDocument(config.tenantsFile, options.env) : undefined
  const nc = await connectNats({ url: config.natsUrl, name: config.serviceName, logger })
  if (file) {
    const applied = await applyTenants(nc, config.names, file.tenants, {
      key: registryKey,
      generation: file.generation,
    })
    logger.info(
      { tenants: file.tenants.length, generation: file.generation, file: config.tenantsFile, ...applied },
      'tenants file applied',
    )
  }
  const tenants = await openTenantRegistry({ nc, names: config.names, logger, key: registryKey })
  const mongo = options.useMongo
    ? await connectMongo(config.mongoUrl, config.serviceName, telemetry.metrics.meter)
    : undefined
  const watchdog = mongo ? watchMongo({ client: mongo, url: config.mongoUrl, logger }) : undefined
  return {
    config,
    logger,
    telemetry,
    metrics: telemetry.metrics,
    metricsServer,
    nc,
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    tenants,
    mongo,
    db: mongo?.db(config.dbName),
    async checkConnections() {
      const checks: Record<string, boolean> = { nats: !nc.isClosed() && !nc.isDraining() }
      if (mongo) checks.database = await pingMongo(mongo)
      return checks
    },
    closeSteps: () => [
      { name: 'tenant registry', run: () => tenants.stop() },
      { name: 'nats drain', run: () => nc.drain() },
      ...(mongo
        ? [
            {
              name: 'database',
              run: async () => {
                watchdog?.stop()
                await mongo.close()
              },
            },
          ]
        : []),
      ...(metricsServer ? [{ name: 'metrics server', run: () => metricsServer.close() }] : []),
      { name: 'telemetry flush', run: () => telemetry.shutdown() },
    ],
  }
}
