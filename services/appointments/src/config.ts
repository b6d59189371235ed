import { type BaseConfig, loadBaseConfig } from '@calsync/service-kit'

export type Config = BaseConfig

export function loadConfig(env: Record<string, string | undefined>): Config {
  return loadBaseConfig(env, {
    serviceName: 'appointments',
    defaultDbName: 'calsync_appointments',
    portVariable: 'APPOINTMENTS_PORT',
    defaultPort: 8081,
  })
}
