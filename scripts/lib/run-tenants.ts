// Tenants made up for one run of a script (chaos, bench): fresh secrets every run, written to
// the run's own tenants file, never to the repository.
import { randomBytes } from 'node:crypto'

export interface RunTenant {
  id: string
  apiKey: string
  webhookSecret: string
  eventTypes: Array<{ id: number; resource: string; minutes: number }>
  tokens: { admin: string; phone: string }
}

const secret = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`

/** One tenant per name, `${prefix}-${name}`, each with two resources (event types from `firstEventTypeId`, 10 apart). */
export function runTenants(prefix: string, names: string[], firstEventTypeId: number): RunTenant[] {
  return names.map((name, index) => ({
    id: `${prefix}-${name}`,
    apiKey: secret(`cal_${prefix}_${name}`),
    webhookSecret: secret('whsec'),
    eventTypes: [
      { id: firstEventTypeId + index * 10, resource: `${name}-room-1`, minutes: 30 },
      { id: firstEventTypeId + 1 + index * 10, resource: `${name}-room-2`, minutes: 45 },
    ],
    tokens: { admin: secret(`${name}_admin`), phone: secret(`${name}_phone`) },
  }))
}

export function tenantsYaml(tenants: RunTenant[]): string {
  const lines = ['tenants:']
  for (const tenant of tenants) {
    lines.push(`  - id: ${tenant.id}`, `    name: ${tenant.id}`, '    calcom:')
    lines.push(`      apiKey: ${tenant.apiKey}`, `      webhookSecret: ${tenant.webhookSecret}`, '      eventTypes:')
    for (const type of tenant.eventTypes) {
      lines.push(`        - id: ${type.id}`, `          resource: ${type.resource}`)
      lines.push(`          lengthMinutes: ${type.minutes}`)
    }
    lines.push('    tokens:', `      - token: ${tenant.tokens.admin}`, '        origin: admin')
    lines.push(`      - token: ${tenant.tokens.phone}`, '        origin: retell')
  }
  return `${lines.join('\n')}\n`
}
