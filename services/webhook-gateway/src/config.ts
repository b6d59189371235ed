import { type BaseConfig, loadBaseConfig } from '@calsync/service-kit'

export type Config = BaseConfig

export function loadConfig(env: Record<string, string | undefined>): Config {
  return loadBaseConfig(env, {
    serviceName: 'webhook-gateway',
    defaultDbName: '',
    portVariable: 'GATEWAY_PORT',
    defaultPort: 8080,
    useMongo: false,
  })
}
