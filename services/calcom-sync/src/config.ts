import { type BaseConfig, loadBaseConfig } from '@calsync/service-kit'

export type Config = BaseConfig

export function loadConfig(env: Record<string, string | undefined>): Config {
  return loadBaseConfig(env, {
    serviceName: 'calcom-sync',
    defaultDbName: 'calsync_sync',
    portVariable: 'CALCOM_SYNC_PORT',
    defaultPort: 8082,
  })
}
