import { type BaseConfig, loadBaseConfig } from '@calsync/service-kit'

export type Config = BaseConfig

export function loadConfig(env: Record<string, string | undefined>): Config {
  return loadBaseConfig(env, {
    serviceName: 'review',
    defaultDbName: 'calsync_review',
    portVariable: 'REVIEW_PORT',
    defaultPort: 8083,
  })
}
