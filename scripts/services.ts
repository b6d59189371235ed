// The processes calsync runs, with their entry points and HTTP ports (DESIGN §4.1), for the scripts
// that start or probe them by name: `npm run service`, the container image and its healthcheck.

export interface ServiceEntry {
  name: string
  /** Entry point, relative to the repository root. */
  entry: string
  /** The env variable that overrides the port, and the port without it. */
  portVariable: string
  port: number
}

export const SERVICES: readonly ServiceEntry[] = [
  { name: 'webhook-gateway', entry: 'services/webhook-gateway/src/main.ts', portVariable: 'GATEWAY_PORT', port: 8080 },
  { name: 'appointments', entry: 'services/appointments/src/main.ts', portVariable: 'APPOINTMENTS_PORT', port: 8081 },
  { name: 'calcom-sync', entry: 'services/calcom-sync/src/main.ts', portVariable: 'CALCOM_SYNC_PORT', port: 8082 },
  { name: 'review', entry: 'services/review/src/main.ts', portVariable: 'REVIEW_PORT', port: 8083 },
  {
    name: 'calcom-sandbox',
    entry: 'packages/calcom-sandbox/src/main.ts',
    portVariable: 'CALCOM_SANDBOX_PORT',
    port: 8090,
  },
]

export function findService(name: string): ServiceEntry | undefined {
  return SERVICES.find((service) => service.name === name)
}
