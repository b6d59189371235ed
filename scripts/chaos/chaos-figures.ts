// The figures a chaos run prints, decided from what it read at the end (calsync's appointments and
// review queue, Cal.com's bookings and request log) and what it wrote down on the way. Pure, so the
// rules are tested on their own (test/chaos-figures.test.ts).
import { calsyncAppointmentIdOf } from '@calsync/contracts'
import type { Answer, Outage } from './answers.ts'
import type { LoadLedger } from './chaos-load.ts'

export interface SeenAppointment {
  id: string
  tenantId: string
  resource: string
  start: string
  end: string
  status: string
  origin: string
  calcomBookingUid: string | null
  sync: { status: string }
}

export interface SeenBooking {
  uid: string
  tenantId: string
  status: string
  start: string
  metadata: Record<string, unknown>
}

export interface SeenRequest {
  method: string
  path: string
  body: unknown
}

export interface SeenReviewItem {
  kind: string
  status: string
  appointmentIds: string[]
  errorMessage?: string | null
}

export interface FigureInput {
  ledger: LoadLedger
  appointments: SeenAppointment[]
  reviewItems: SeenReviewItem[]
  bookings: SeenBooking[]
  requests: SeenRequest[]
  answers: Answer[]
  outages: Outage[]
  crashes: number
}

/** A 503 this soon after a server is back still counts as the outage (clients reconnect). */
export const OUTAGE_GRACE_MS = 30_000

export interface Figures {
  /** Each must be 0; the examples say which appointments or bookings, for the report. */
  invariants: Record<string, { count: number; examples: string[] }>
}

const overlaps = (a: SeenAppointment, b: SeenAppointment) =>
  Date.parse(a.start) < Date.parse(b.end) && Date.parse(b.start) < Date.parse(a.end)
const sameInstant = (a: string, b: string) => Date.parse(a) === Date.parse(b)

export function chaosFigures(input: FigureInput): Figures {
  const figure = () => ({ count: 0, examples: [] as string[] })
  const out = {
    lost: figure(),
    duplicateCalcomBookings: figure(),
    mismatches: figure(),
    loops: figure(),
    unsyncedNotInReview: figure(),
    overlappingNotFlagged: figure(),
    serverErrorsWhileUp: figure(),
    crashes: { count: input.crashes, examples: [] as string[] },
  }
  const add = (which: keyof typeof out, example: string) => {
    out[which].count++
    if (out[which].examples.length < 5) out[which].examples.push(example)
  }
  const byId = new Map(input.appointments.map((a) => [a.id, a]))
  const active = input.bookings.filter((b) => b.status === 'accepted')
  const open = input.reviewItems.filter((item) => item.status === 'open')
  const inReview = (id: string) => open.some((item) => item.appointmentIds.includes(id))
  const reviewText = JSON.stringify(open)
  const activeOf = (a: SeenAppointment) =>
    active.filter((b) => b.uid === a.calcomBookingUid || calsyncAppointmentIdOf(b.metadata) === a.id)

  for (const expected of input.ledger.local.values()) {
    if (expected.uncertain) continue
    const seen = byId.get(expected.id)
    if (!seen) add('lost', `${expected.id} missing`)
    else if (seen.status !== expected.status) add('lost', `${expected.id} is ${seen.status}, not ${expected.status}`)
    else if (!sameInstant(seen.start, expected.start))
      add('lost', `${expected.id} at ${seen.start}, not ${expected.start}`)
  }
  const customerBookings = input.bookings.filter((b) => calsyncAppointmentIdOf(b.metadata) === undefined)
  for (const booking of customerBookings.filter((b) => b.status === 'accepted')) {
    const known = input.appointments.some(
      (a) => a.calcomBookingUid === booking.uid && a.status === 'booked' && sameInstant(a.start, booking.start),
    )
    if (!known && !reviewText.includes(booking.uid)) add('lost', `customer booking ${booking.uid} unknown to calsync`)
  }

  for (const a of input.appointments) {
    const its = activeOf(a)
    if (its.length > 1) add('duplicateCalcomBookings', `${a.id}: ${its.map((b) => b.uid).join(', ')}`)
    if (a.sync.status !== 'synced' || its.length > 1) continue
    if (a.status === 'booked' && (its[0]?.uid !== a.calcomBookingUid || !sameInstant(its[0]?.start ?? '', a.start))) {
      add(
        'mismatches',
        `${a.id} booked at ${a.start}, Cal.com: ${its.map((b) => `${b.uid}@${b.start}`).join() || 'none'}`,
      )
    }
    if (a.status === 'cancelled' && its.length > 0) add('mismatches', `${a.id} cancelled, active on Cal.com`)
  }
  for (const booking of active) {
    const owner = calsyncAppointmentIdOf(booking.metadata)
    if (owner && !byId.has(owner) && !reviewText.includes(booking.uid)) {
      add('duplicateCalcomBookings', `${booking.uid} for unknown appointment ${owner}`)
    }
  }

  const customerUids = new Set(customerBookings.map((b) => b.uid))
  const writesTo = new Map<string, number>()
  for (const request of input.requests) {
    const match = /^\/v2\/bookings\/([^/?]+)\/(cancel|reschedule)/.exec(request.path)
    if (request.method === 'POST' && match?.[1]) writesTo.set(match[1], (writesTo.get(match[1]) ?? 0) + 1)
    if (request.method === 'POST' && request.path.split('?')[0] === '/v2/bookings') {
      const metadata = (request.body as { metadata?: Record<string, unknown> } | null)?.metadata
      const owner = byId.get(calsyncAppointmentIdOf(metadata) ?? '')
      if (owner?.origin === 'calcom') add('loops', `create for Cal.com's own ${owner.id}`)
    }
  }
  for (const uid of customerUids) {
    const calsyncWrites = (writesTo.get(uid) ?? 0) - (input.ledger.customerCalls.get(uid) ?? 0)
    for (let i = 0; i < calsyncWrites; i++) add('loops', `write to customer booking ${uid}`)
  }

  for (const a of input.appointments) {
    if ((a.sync.status === 'pending' || a.sync.status === 'failed') && !inReview(a.id)) {
      add('unsyncedNotInReview', `${a.id} ${a.sync.status}`)
    }
  }
  const booked = input.appointments.filter((a) => a.status === 'booked')
  for (const [index, a] of booked.entries()) {
    for (const b of booked.slice(index + 1)) {
      if (a.tenantId !== b.tenantId || a.resource !== b.resource || !overlaps(a, b)) continue
      const flagged =
        a.sync.status === 'conflict' &&
        b.sync.status === 'conflict' &&
        open.some(
          (i) => i.kind === 'double_booking' && i.appointmentIds.includes(a.id) && i.appointmentIds.includes(b.id),
        )
      if (!flagged) add('overlappingNotFlagged', `${a.id} and ${b.id}`)
    }
  }
  const duringOutage = (at: number) =>
    input.outages.some((o) => at >= o.from && at <= (o.to ?? Number.POSITIVE_INFINITY) + OUTAGE_GRACE_MS)
  for (const answer of input.answers) {
    if (answer.status < 500) continue
    if (answer.status === 503 && duringOutage(answer.at)) continue
    add('serverErrorsWhileUp', `${answer.service} ${answer.status} at ${new Date(answer.at).toISOString()}`)
  }
  return { invariants: out }
}
