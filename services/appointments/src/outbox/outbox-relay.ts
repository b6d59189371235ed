import { type AppointmentEvent, appointmentEventToken, extractTraceContext, type Names } from '@calsync/contracts'
import { type Logger, publishMessage } from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import { context } from '@opentelemetry/api'
import type { AppointmentsStore, EventDoc } from '../appointments/appointments-store.ts'
import type { AppointmentsMetrics } from '../metrics.ts'

export interface OutboxRelayOptions {
  store: AppointmentsStore
  js: JetStreamClient
  names: Names
  logger: Logger
  metrics: AppointmentsMetrics
  /** How often to look for unpublished events when nothing wakes the relay. */
  intervalMs?: number
}

export interface OutboxRelay {
  /** Publish pending events soon (called after every change). */
  kick(): void
  /** One pass over pending events; resolves when they are published or a publish failed. */
  runOnce(): Promise<number>
  stop(): Promise<void>
}

export function toAppointmentEvent(event: EventDoc): AppointmentEvent {
  return {
    ...(event.type === 'appointment.sync_requested' && event.verify ? { verify: true } : {}),
    type: event.type,
    eventId: event._id,
    tenantId: event.tenantId,
    appointmentId: event.appointmentId,
    version: event.version,
    origin: event.origin,
    occurredAt: event.occurredAt,
    appointment: event.snapshot,
  }
}

/**
 * Publishes the events in the outbox in order, with the event id as Nats-Msg-Id, and takes each
 * out only after JetStream acknowledged it. A crash between the two republishes the event, which
 * the stream's duplicate window and the consumers' version checks absorb. The outbox holds only
 * what is not yet published, so looking through it stays cheap however long the history grows.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { store, js, names } = options
  const log = options.logger.child({ component: 'outbox-relay' })
  const intervalMs = options.intervalMs ?? 1000
  let running: Promise<number> | undefined
  let queued: Promise<number> | undefined
  let stopped = false

  /** Whether an outbox entry's change was committed; an abandoned uncommitted one is dropped. */
  async function committed(entry: EventDoc): Promise<boolean> {
    if (!entry.op) return true
    const event = await store.events.findOne({ _id: entry._id })
    if (event?.op === entry.op) return true
    // Still being written, or left by a stopped writer: its undo removes the entry.
    if ((await store.pendingOps.findOne({ _id: entry.appointmentId }))?.nonce === entry.op) return false
    await store.outbox.deleteOne({ _id: entry._id, op: entry.op })
    return false
  }

  async function publish(event: EventDoc): Promise<void> {
    const subject = names.subjects.appointmentEvent(event.tenantId, appointmentEventToken(event.type))
    const carrier = {
      get: (key: string) => event.trace[key] ?? '',
      set: () => {},
      keys: () => Object.keys(event.trace),
    }
    // Publish inside the trace of the request that made the change (I8).
    const ack = await context.with(extractTraceContext(carrier), () =>
      publishMessage(js, subject, toAppointmentEvent(event), {
        msgId: event._id,
        tenantId: event.tenantId,
        origin: event.origin,
      }),
    )
    if (!ack.duplicate) options.metrics.eventPublished(event.type, event.origin)
    await store.outbox.deleteOne({ _id: event._id })
  }

  async function pass(): Promise<number> {
    let published = 0
    for (;;) {
      const batch = await store.outbox.find({}).sort({ occurredAt: 1, version: 1 }).limit(100).toArray()
      let progressed = 0
      for (const event of batch) {
        if (!(await committed(event))) continue
        await publish(event)
        progressed++
      }
      published += progressed
      if (batch.length < 100 || progressed === 0) return published
    }
  }

  /** A pass that starts after any running one, so it sees everything in the outbox by now. */
  function runOnce(): Promise<number> {
    if (running) {
      queued ??= running.then(() => {
        queued = undefined
        return stopped ? 0 : runOnce()
      })
      return queued
    }
    running = pass()
      .catch((error: unknown) => {
        log.warn({ err: error }, 'publishing appointment events failed; will retry')
        return 0
      })
      .finally(() => {
        running = undefined
      })
    return running
  }

  const timer = setInterval(() => void runOnce(), intervalMs)
  void runOnce()

  return {
    kick: () => void runOnce(),
    runOnce,
    async stop() {
      stopped = true
      clearInterval(timer)
      await running
    },
  }
}
