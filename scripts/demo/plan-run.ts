// Everything a run decides before its first step: which tenant it acts for, that the stack is up,
// and which slots it may book.

import type { TenantWithTokens } from '../lib/tenants-with-tokens.ts'
import type { DemoConfig } from './demo-config.ts'
import type { DemoTenant } from './demo-context.ts'
import { DemoError } from './demo-error.ts'
import { type Interval, pickFreeSlots, searchStart } from './free-slots.ts'
import { requestJson } from './http-json.ts'
import type { appointmentsClient, sandboxControl } from './stack-clients.ts'

/** The first tenant the demo can act for as its phone agent (a `retell` token in clear). */
export function chooseTenant(tenants: TenantWithTokens[], tenantsFile: string): DemoTenant {
  for (const origin of ['retell', 'admin', 'api', 'system']) {
    for (const tenant of tenants) {
      const token = tenant.tokens.find((entry) => entry.origin === origin && entry.token)?.token
      const eventType = tenant.calcom.eventTypes[0]
      if (token && eventType) return { id: tenant.id, token, origin, apiKey: tenant.calcom.apiKey, eventType }
    }
  }
  throw new DemoError(`${tenantsFile} has no bearer token in clear (sha256: digests cannot call the API)`)
}

/** Fails with one message naming every part of the stack that does not answer ready. */
export async function checkStackReady(config: DemoConfig): Promise<void> {
  const parts = [
    ['webhook gateway', config.gatewayUrl, 'CALSYNC_GATEWAY_URL'],
    ['appointments', config.appointmentsUrl, 'CALSYNC_APPOINTMENTS_URL'],
    ['review', config.reviewUrl, 'CALSYNC_REVIEW_URL'],
    ['Cal.com sandbox', config.sandboxUrl, 'CALCOM_SANDBOX_URL'],
  ] as const
  const problems: string[] = []
  await Promise.all(
    parts.map(async ([name, url, variable]) => {
      try {
        const answer = await requestJson('GET', `${url}/readyz`)
        if (answer.status !== 200) problems.push(`${name} at ${url} is not ready (HTTP ${answer.status})`)
      } catch (error) {
        problems.push(`${name} (${variable}) does not answer: ${(error as Error).message}`)
      }
    }),
  )
  if (problems.length > 0) {
    throw new DemoError(
      `the stack is not running or not ready:\n     ${problems.join('\n     ')}\n   start it with \`npm start\` (or \`docker compose up\`), or point the variables above at it`,
    )
  }
}

/**
 * `count` slots of the event type's length that neither calsync nor Cal.com holds: calsync's book
 * outlives the sandbox (which forgets on restart), and Cal.com may hold bookings calsync never saw.
 */
export async function findRunSlots(
  tenant: DemoTenant,
  appointments: ReturnType<typeof appointmentsClient>,
  sandbox: ReturnType<typeof sandboxControl>,
  count: number,
  now: Date,
): Promise<string[]> {
  const from = searchStart(now)
  const horizon = from + 90 * 24 * 3_600_000
  const booked = await appointments.list({
    from: new Date(from - 24 * 3_600_000).toISOString(),
    to: new Date(horizon).toISOString(),
    status: 'booked',
  })
  const busy: Interval[] = booked
    .filter((appointment) => appointment.resource === tenant.eventType.resource)
    .map((appointment) => ({ start: Date.parse(appointment.start), end: Date.parse(appointment.end) }))
  for (const booking of await sandbox.bookings(tenant.id)) {
    if (booking.status === 'accepted' && booking.resource === tenant.eventType.resource) {
      busy.push({ start: Date.parse(booking.start), end: Date.parse(booking.end) })
    }
  }
  const slots = pickFreeSlots(busy, from, count, tenant.eventType.lengthMinutes * 60_000)
  return slots.map((slot) => new Date(slot).toISOString())
}
