// What `npm start` prints once every service is ready: where to point Cal.com and the APIs, and a
// first request to paste.
import type { TenantWithTokens } from '../lib/tenants-with-tokens.ts'

export interface SummaryInput {
  tenants: TenantWithTokens[]
  ports: { gateway: number; appointments: number; sync: number; review: number; sandbox: number | undefined }
  tenantsFile: string
  /** Only demo values are ever printed: the demo file's tokens and the default admin token. */
  demoTokens: boolean
  demoAdminToken: string | undefined
  now: Date
}

export interface ReadySummary {
  /** The block a person reads on a terminal. */
  text: string
  /** The same facts as log records, for JSON output. */
  records: Array<{ msg: string } & Record<string, unknown>>
}

/** Tomorrow or the day after, 10:00 UTC: always ahead, and an easy time to read. */
export function exampleSlot(now: Date): string {
  const day = new Date(now.getTime() + 36 * 3_600_000)
  return `${day.toISOString().slice(0, 10)}T10:00:00Z`
}

function curlExample(input: SummaryInput, appointmentsUrl: string): { tenant: string; lines: string[] } | undefined {
  const tenant = input.tenants.find((candidate) => candidate.calcom.eventTypes.length > 0)
  if (!tenant) return undefined
  const token = (input.demoTokens && tenant.tokens.find((entry) => entry.token)?.token) || '$TOKEN'
  const eventType = tenant.calcom.eventTypes[0]
  return {
    tenant: tenant.id,
    lines: [
      `curl -X POST ${appointmentsUrl} \\`,
      `  -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' \\`,
      `  -d '{"eventTypeId": ${eventType?.id}, "start": "${exampleSlot(input.now)}",`,
      `       "attendee": {"name": "Ada Lovelace", "email": "ada@example.org", "timeZone": "Europe/London"}}'`,
    ],
  }
}

export function readySummary(input: SummaryInput): ReadySummary {
  const url = (port: number, path: string) => `http://localhost:${port}${path}`
  const { ports } = input
  const webhooks = input.tenants.map((tenant) => ({
    tenant: tenant.id,
    url: url(ports.gateway, `/webhooks/calcom/${tenant.id}`),
  }))
  const appointmentsUrl = url(ports.appointments, '/v1/appointments')
  const reviewUrl = url(ports.review, '/')
  const syncUrl = url(ports.sync, '/readyz')
  const sandboxUrl = ports.sandbox === undefined ? undefined : url(ports.sandbox, '/v2/bookings')
  const curl = curlExample(input, appointmentsUrl)

  const tenantWidth = Math.max(...webhooks.map((webhook) => webhook.tenant.length))
  const label = (text: string) => `  ${text.padEnd(19)}`
  const lines = [`calsync is ready — tenants from ${input.tenantsFile}`]
  webhooks.forEach((webhook, index) => {
    lines.push(`${label(index === 0 ? 'Cal.com webhooks' : '')}${webhook.tenant.padEnd(tenantWidth)}  ${webhook.url}`)
  })
  lines.push(`${label('appointments API')}${appointmentsUrl}`)
  lines.push(
    `${label('review dashboard')}${reviewUrl}${input.demoAdminToken ? `  (admin token: ${input.demoAdminToken})` : '  (token: $CALSYNC_ADMIN_TOKEN)'}`,
  )
  lines.push(`${label('calcom-sync')}${syncUrl}  (health and metrics only)`)
  if (sandboxUrl) lines.push(`${label('Cal.com sandbox')}${sandboxUrl}  (control API: /_sandbox/bookings)`)
  if (curl) {
    lines.push(`  book a slot as ${curl.tenant}:`, ...curl.lines.map((line) => `    ${line}`))
  }
  lines.push('  `npm run demo` walks through the whole sync; Ctrl-C stops everything.')

  const records: ReadySummary['records'] = [{ msg: 'calsync is ready', tenantsFile: input.tenantsFile }]
  for (const webhook of webhooks) records.push({ msg: 'Cal.com webhook URL', ...webhook })
  records.push({ msg: 'appointments API', url: appointmentsUrl })
  records.push({
    msg: 'review dashboard',
    url: reviewUrl,
    ...(input.demoAdminToken ? { demoAdminToken: input.demoAdminToken } : {}),
  })
  records.push({ msg: 'calcom-sync health', url: syncUrl })
  if (sandboxUrl) records.push({ msg: 'Cal.com sandbox', url: sandboxUrl })
  if (curl) records.push({ msg: 'example request', tenant: curl.tenant, command: curl.lines.join('\n') })
  return { text: `${lines.join('\n')}\n`, records }
}
