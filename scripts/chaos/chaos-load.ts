// The changes of a chaos run: local ones through the appointments API (create, reschedule,
// cancel; two origins; every create with an Idempotency-Key, retried on the other instance when
// one is down) and customer ones on Cal.com (book, reschedule, cancel), on slots that overlap
// often. Every answer is written down: the ledger is what the figures are checked against.

import type { RunTenant } from '../lib/run-tenants.ts'
import type { AnswerLog } from './answers.ts'
import type { Random } from './chaos-options.ts'

/** What calsync promised about a local appointment: its last accepted change. */
export interface LocalExpectation {
  id: string
  tenantId: string
  status: 'booked' | 'cancelled'
  start: string
  /** A change was cut off and then refused, so whether it applied is unknown: not checked for loss. */
  uncertain: boolean
}

export interface LoadLedger {
  attempted: number
  accepted: number
  refused: number
  /** Changes that got no answer at all (every instance down past the deadline). */
  unanswered: number
  local: Map<string, LocalExpectation>
  /** Requests the customer made per booking uid (to tell them from calsync's own calls). */
  customerCalls: Map<string, number>
  customerAccepted: number
}

type Kind = 'create' | 'reschedule' | 'cancel' | 'customer-book' | 'customer-reschedule' | 'customer-cancel'
const KINDS: Array<[Kind, number]> = [
  ['create', 40],
  ['reschedule', 15],
  ['cancel', 10],
  ['customer-book', 20],
  ['customer-reschedule', 10],
  ['customer-cancel', 5],
]
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const ANSWER_DEADLINE_MS = 120_000

export function createLoad(options: {
  tenants: RunTenant[]
  appointmentsUrls: () => string[]
  sandboxUrl: string
  answers: AnswerLog
  random: Random
  /** Days the slots spread over: fewer days, more collisions. */
  days: number
}) {
  const { random, answers } = options
  const ledger: LoadLedger = {
    attempted: 0,
    accepted: 0,
    refused: 0,
    unanswered: 0,
    local: new Map(),
    customerCalls: new Map(),
    customerAccepted: 0,
  }
  const busy = new Set<string>()
  const customerBookings: Array<{ uid: string; tenant: RunTenant }> = []
  const base = new Date()
  base.setUTCDate(base.getUTCDate() + 30)
  base.setUTCHours(9, 0, 0, 0)
  /** Quarter hours over four hours a day: a 30- or 45-minute booking overlaps its neighbours. */
  const slot = () =>
    new Date(base.getTime() + random.int(options.days) * 86_400_000 + random.int(16) * 15 * 60_000).toISOString()
  const pickKind = (): Kind => {
    let roll = random.int(100)
    for (const [kind, weight] of KINDS) {
      if (roll < weight) return kind
      roll -= weight
    }
    return 'create'
  }

  /** One request to the appointments API, on another instance when one is down or unavailable. */
  async function api(token: string, path: string, body: unknown, headers: Record<string, string> = {}) {
    let cutOff = false
    const deadline = Date.now() + ANSWER_DEADLINE_MS
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const urls = options.appointmentsUrls()
      const url = urls[(attempt + random.int(2)) % Math.max(1, urls.length)]
      if (url) {
        try {
          const answer = await fetch(`${url}${path}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(30_000),
          })
          const json = (await answer.json().catch(() => ({}))) as Record<string, unknown>
          answers.record('appointments', answer.status)
          if (answer.status !== 503) return { status: answer.status, json, cutOff }
        } catch {
          cutOff = true
        }
      }
      await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)))
    }
    return undefined
  }

  async function customer(tenant: RunTenant, path: string, body: unknown, uid?: string) {
    if (uid) ledger.customerCalls.set(uid, (ledger.customerCalls.get(uid) ?? 0) + 1)
    try {
      const answer = await fetch(`${options.sandboxUrl}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tenant.apiKey}`,
          'cal-api-version': '2024-08-13',
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(3000),
      })
      const json = (await answer.json().catch(() => ({}))) as { data?: { uid?: string } }
      return answer.ok ? json.data?.uid : undefined
    } catch {
      // A fault meant for calcom-sync can hit the customer too (same API key): that change failed.
      return undefined
    }
  }

  function settleLocal(id: string, tenantId: string, outcome: Awaited<ReturnType<typeof api>>) {
    const json = outcome?.json as { status?: 'booked' | 'cancelled'; start?: string } | undefined
    if (outcome && outcome.status < 300 && json?.status && json.start) {
      ledger.accepted++
      ledger.local.set(id, { id, tenantId, status: json.status, start: json.start, uncertain: false })
      return
    }
    if (!outcome) ledger.unanswered++
    else ledger.refused++
    const known = ledger.local.get(id)
    if (known && (outcome?.cutOff || !outcome)) known.uncertain = true
  }

  async function change(sequence: number) {
    const tenant = random.pick(options.tenants)
    const kind = pickKind()
    ledger.attempted++
    const locals = [...ledger.local.values()].filter((a) => a.tenantId === tenant.id && !busy.has(a.id))
    const target = locals.length > 0 ? random.pick(locals) : undefined
    if (kind === 'create' || ((kind === 'reschedule' || kind === 'cancel') && !target)) {
      const type = random.pick(tenant.eventTypes)
      const token = random.chance(0.5) ? tenant.tokens.admin : tenant.tokens.phone
      const body = {
        eventTypeId: type.id,
        start: slot(),
        attendee: { name: `Patient ${sequence}`, email: `patient${sequence}@example.org`, timeZone: 'UTC' },
      }
      const outcome = await api(token, '/v1/appointments', body, { 'idempotency-key': `chaos-${sequence}` })
      const id = (outcome?.json as { id?: string } | undefined)?.id
      if (id && outcome && outcome.status < 300) settleLocal(id, tenant.id, outcome)
      else if (!outcome) ledger.unanswered++
      else ledger.refused++
      return
    }
    if ((kind === 'reschedule' || kind === 'cancel') && target) {
      busy.add(target.id)
      try {
        const path = `/v1/appointments/${target.id}/${kind}`
        const outcome = await api(
          tenant.tokens.admin,
          path,
          kind === 'cancel' ? { reason: 'chaos' } : { start: slot() },
        )
        settleLocal(target.id, tenant.id, outcome)
      } finally {
        busy.delete(target.id)
      }
      return
    }
    const mine = customerBookings.filter((b) => b.tenant === tenant && !busy.has(b.uid))
    const booking = kind !== 'customer-book' && mine.length > 0 ? random.pick(mine) : undefined
    if (!booking) {
      const type = random.pick(tenant.eventTypes)
      const attendee = { name: `Customer ${sequence}`, email: `customer${sequence}@example.org`, timeZone: 'UTC' }
      const uid = await customer(tenant, '/v2/bookings', { start: slot(), eventTypeId: type.id, attendee })
      if (uid) customerBookings.push({ uid, tenant })
      if (uid) ledger.customerAccepted++
      else ledger.refused++
      return
    }
    busy.add(booking.uid)
    customerBookings.splice(customerBookings.indexOf(booking), 1)
    const path = `/v2/bookings/${booking.uid}/${kind === 'customer-cancel' ? 'cancel' : 'reschedule'}`
    const body = kind === 'customer-cancel' ? { cancellationReason: 'chaos customer' } : { start: slot() }
    const uid = await customer(tenant, path, body, booking.uid)
    busy.delete(booking.uid)
    if (uid) ledger.customerAccepted++
    else ledger.refused++
    if (kind === 'customer-reschedule') customerBookings.push({ uid: uid ?? booking.uid, tenant })
  }

  return {
    ledger,
    /** Makes `total` changes with `clients` of them at once; `onChange` runs after each. */
    async run(total: number, clients: number, onChange: () => void) {
      let next = 0
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next < total) {
            const sequence = next++
            await change(sequence)
            onChange()
          }
        }),
      )
    },
  }
}
