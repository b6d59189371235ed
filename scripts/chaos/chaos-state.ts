// Reads what a chaos run ended with, from outside: calsync's appointments (its API, each tenant's
// token), its review queue (the review API, admin token) and Cal.com's truth (the sandbox's
// control API); and waits for the system to settle first.
import { consumerDefinitions, createNames } from '@calsync/contracts'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import type { RunTenant } from '../lib/run-tenants.ts'
import type { SeenAppointment, SeenBooking, SeenRequest, SeenReviewItem } from './chaos-figures.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function getJson<T>(url: string, token?: string): Promise<T> {
  const answer = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  if (!answer.ok) throw new Error(`GET ${url.replace(/\?.*/, '')} answered ${answer.status}`)
  return (await answer.json()) as T
}

async function allPages<T>(url: string, token: string): Promise<T[]> {
  const items: T[] = []
  let cursor: string | null = null
  do {
    const page: { items: T[]; nextCursor: string | null } = await getJson(
      `${url}${url.includes('?') ? '&' : '?'}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      token,
    )
    items.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return items
}

export async function readState(options: {
  tenants: RunTenant[]
  appointmentsUrl: string
  reviewUrl: string
  sandboxUrl: string
  adminToken: string
}) {
  const appointments: SeenAppointment[] = []
  for (const tenant of options.tenants) {
    appointments.push(
      ...(await allPages<SeenAppointment>(`${options.appointmentsUrl}/v1/appointments`, tenant.tokens.admin)),
    )
  }
  const reviewItems = await allPages<SeenReviewItem>(
    `${options.reviewUrl}/v1/review-items?status=open`,
    options.adminToken,
  )
  const bookings = await getJson<SeenBooking[]>(`${options.sandboxUrl}/_sandbox/bookings`)
  const requests = await getJson<SeenRequest[]>(`${options.sandboxUrl}/_sandbox/requests`)
  return { appointments, reviewItems, bookings, requests }
}

/**
 * Waits until nothing moves: Cal.com's webhooks all sent, every calsync consumer caught up, no
 * appointment's sync pending, three checks in a row. Answers false if that never happens in time.
 */
export async function settle(options: {
  natsUrl: string
  sandboxUrl: string
  appointmentsUrl: string
  tenants: RunTenant[]
  timeoutMs: number
}): Promise<boolean> {
  await fetch(`${options.sandboxUrl}/_sandbox/faults`, { method: 'DELETE' })
  const nc = await connect({ servers: options.natsUrl, reconnect: true, maxReconnectAttempts: -1 })
  try {
    const jsm = await jetstreamManager(nc)
    const consumers = Object.values(consumerDefinitions(createNames()))
    const idle = async () => {
      await fetch(`${options.sandboxUrl}/_sandbox/webhooks/flush`, { method: 'POST' })
      for (const consumer of consumers) {
        const info = await jsm.consumers.info(consumer.stream, consumer.durable).catch(() => undefined)
        if (info && (info.num_pending > 0 || info.num_ack_pending > 0)) return false
      }
      for (const tenant of options.tenants) {
        const seen = await allPages<SeenAppointment>(`${options.appointmentsUrl}/v1/appointments`, tenant.tokens.admin)
        if (seen.some((a) => a.sync.status === 'pending')) return false
      }
      return true
    }
    const deadline = Date.now() + options.timeoutMs
    let quiet = 0
    while (Date.now() < deadline) {
      quiet = (await idle().catch(() => false)) ? quiet + 1 : 0
      if (quiet >= 3) return true
      await sleep(1000)
    }
    return false
  } finally {
    await nc.close()
  }
}
