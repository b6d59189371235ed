import type { Names } from './names.ts'

/**
 * Client-neutral stream and consumer definitions (durations in milliseconds); the service
 * kit turns them into JetStream configs. Each owner creates its streams idempotently at start.
 */
export interface StreamDefinition {
  name: string
  subjects: string[]
  /** How long a published Nats-Msg-Id is remembered for de-duplication. */
  duplicateWindowMs: number
  maxAgeMs: number
}

export interface ConsumerDefinition {
  stream: string
  durable: string
  filterSubject: string
  ackWaitMs: number
  /** Deliveries before JetStream gives up and emits a MAX_DELIVERIES advisory. */
  maxDeliver: number
  /** Bounds messages in flight (including nak'd ones waiting for their delay). */
  maxAckPending: number
}

const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE

/** Must be at least the gateway's replay window (15 minutes by default) so re-deliveries dedupe. */
export const WEBHOOK_DUPLICATE_WINDOW_MS = 30 * MINUTE

export function streamDefinitions(names: Names): Record<keyof Names['streams'], StreamDefinition> {
  return {
    webhooks: {
      name: names.streams.webhooks,
      subjects: [names.subjects.webhooks],
      duplicateWindowMs: WEBHOOK_DUPLICATE_WINDOW_MS,
      maxAgeMs: 7 * DAY,
    },
    appointments: {
      name: names.streams.appointments,
      subjects: [names.subjects.appointmentEvents],
      // The outbox relay republishes after a crash with the same id; consumers also dedupe by version.
      duplicateWindowMs: 60 * MINUTE,
      maxAgeMs: 7 * DAY,
    },
    sync: {
      name: names.streams.sync,
      subjects: [names.subjects.syncResults],
      duplicateWindowMs: 10 * MINUTE,
      maxAgeMs: 7 * DAY,
    },
    review: {
      name: names.streams.review,
      subjects: [names.subjects.reviews],
      // As long as the webhook window: an unmapped delivery retried by Cal.com is one review item.
      duplicateWindowMs: WEBHOOK_DUPLICATE_WINDOW_MS,
      maxAgeMs: 30 * DAY,
    },
  }
}

/**
 * maxDeliver is sized so that a database or NATS outage of 5 minutes poisons nothing. A handler
 * that throws is redelivered after the service kit's error backoff (1 s doubling to 60 s), so the
 * n delays between n + 1 deliveries add up to 2^n − 1 s for n ≤ 6, and 63 s + 60 s × (n − 6) after:
 *   maxDeliver 20 → 19 delays → 63 + 13 × 60 =  843 s ≈ 14 min
 *   maxDeliver 40 → 39 delays → 63 + 33 × 60 = 2043 s ≈ 34 min
 * packages/service-kit/test/consumer-budget.test.ts checks every definition against 5 minutes.
 */
export function consumerDefinitions(names: Names): Record<keyof Names['consumers'], ConsumerDefinition> {
  return {
    appointmentsWebhooks: {
      stream: names.streams.webhooks,
      durable: names.consumers.appointmentsWebhooks,
      filterSubject: names.subjects.webhooks,
      ackWaitMs: 30_000,
      // Also spends deliveries on its own deferrals (waiting for what a webhook depends on).
      maxDeliver: 40,
      maxAckPending: 1000,
    },
    appointmentsSyncResults: {
      stream: names.streams.sync,
      durable: names.consumers.appointmentsSyncResults,
      filterSubject: names.subjects.syncResults,
      ackWaitMs: 30_000,
      maxDeliver: 20,
      maxAckPending: 1000,
    },
    calcomSync: {
      stream: names.streams.appointments,
      durable: names.consumers.calcomSync,
      filterSubject: names.subjects.appointmentEvents,
      ackWaitMs: 60_000,
      // Retries are counted by the worker itself (CALSYNC_SYNC_BACKOFF), and waits (lease, call
      // budget) keep the message alive without a redelivery: deliveries go to errors and crashes.
      maxDeliver: 40,
      maxAckPending: 5000,
    },
    review: {
      stream: names.streams.review,
      durable: names.consumers.review,
      filterSubject: names.subjects.reviews,
      ackWaitMs: 30_000,
      maxDeliver: 20,
      maxAckPending: 1000,
    },
  }
}
