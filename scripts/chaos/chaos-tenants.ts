// The tenants of a chaos run: three businesses, two resources each, fresh secrets every run
// (written to the run's own tenants file, never to the repository).
import { randomBytes } from 'node:crypto'

export interface ChaosTenant {
  id: string
  apiKey: string
  webhookSecret: string
  eventTypes: Array<{ id: number; resource: string; minutes: number }>
  tokens: { admin: string; phone: string }
}

const secret = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`

export function chaosTenants(): ChaosTenant[] {
  return ['north', 'south', 'east'].map((name, index) => ({
    id: `chaos-${name}`,
    apiKey: secret(`cal_chaos_${name}`),
    webhookSecret: secret('whsec'),
    eventTypes: [
      { id: 3001 + index * 10, resource: `${name}-room-1`, minutes: 30 },
      { id: 3002 + index * 10, resource: `${name}-room-2`, minutes: 45 },
    ],
    tokens: { admin: secret(`${name}_admin`), phone: secret(`${name}_phone`) },
  }))
}

export function tenantsYaml(tenants: ChaosTenant[]): string {
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
