// Where the running stack is and how it was configured, from the environment, with the defaults
// `npm start` uses.
import { fileURLToPath } from 'node:url'
import { parseDurationList } from '@calsync/service-kit'
import { DemoError } from './demo-error.ts'

export interface DemoConfig {
  gatewayUrl: string
  appointmentsUrl: string
  reviewUrl: string
  sandboxUrl: string
  tenantsFile: string
  adminToken: string
  /** The stack's CALSYNC_SYNC_BACKOFF: how many attempts a sync makes, and how long they take. */
  backoffMs: number[]
  /** How long a step waits for one thing to happen (outage retries get the backoff on top). */
  waitMs: number
}

const DEFAULT_TENANTS = fileURLToPath(new URL('../../config/demo-tenants.yaml', import.meta.url))

function baseUrl(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = env[name]?.trim() || fallback
  if (!/^https?:\/\/[^/]+/.test(value)) throw new DemoError(`${name} must be an http(s) URL, got "${value}"`)
  return value.replace(/\/+$/, '')
}

export function loadDemoConfig(env: NodeJS.ProcessEnv): DemoConfig {
  let backoffMs: number[]
  try {
    backoffMs = parseDurationList(env.CALSYNC_SYNC_BACKOFF?.trim() || '1s,5s,30s')
  } catch (error) {
    throw new DemoError(`CALSYNC_SYNC_BACKOFF: ${(error as Error).message}`)
  }
  const waitSeconds = Number(env.CALSYNC_DEMO_WAIT_SECONDS ?? 30)
  if (!Number.isFinite(waitSeconds) || waitSeconds <= 0) {
    throw new DemoError(`CALSYNC_DEMO_WAIT_SECONDS must be a positive number, got "${env.CALSYNC_DEMO_WAIT_SECONDS}"`)
  }
  return {
    gatewayUrl: baseUrl(env, 'CALSYNC_GATEWAY_URL', 'http://localhost:8080'),
    appointmentsUrl: baseUrl(env, 'CALSYNC_APPOINTMENTS_URL', 'http://localhost:8081'),
    reviewUrl: baseUrl(env, 'CALSYNC_REVIEW_URL', 'http://localhost:8083'),
    sandboxUrl: baseUrl(env, 'CALCOM_SANDBOX_URL', 'http://localhost:8090'),
    tenantsFile: env.CALSYNC_TENANTS?.trim() || DEFAULT_TENANTS,
    adminToken: env.CALSYNC_ADMIN_TOKEN?.trim() || 'calsync-demo-admin-token',
    backoffMs,
    waitMs: waitSeconds * 1000,
  }
}
