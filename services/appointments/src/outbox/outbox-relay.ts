import { type AppointmentEvent, appointmentEventToken, extractTraceContext, type Names } from '@calsync/contracts'
import { type Logger, publishMessage } from '@calsync/service-kit'
import type { JetStreamClient } from '@nats-io/jetstream'
import { context } from '@opentelemetry/api'
import type { AppointmentsStore, EventDoc } from '../appointments/appointments-store.ts'
import type { ChangeRecorder } from '../appointments/change-recorder.ts'
import type { AppointmentsMetrics } from '../metrics.ts'

export interface OutboxRelayOptions {
  store: AppointmentsStore
  recorder: ChangeRecorder
  js: JetStreamClient
  names: Names
  logger: Logger
  metrics: AppointmentsMetrics
  /** How often to look for unpublished events when nothing wakes the relay. */
  intervalMs?: number
  clock?: () => Date
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
 * Publishes unpublished appointment events in order, with the event id as Nats-Msg-Id, and marks
 * each published only after JetStream acknowledged it. A crash between the two republishes the
 * event, which the stream's duplicate window and the consumers' version checks absorb.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { store, js, names } = options
  const log = options.logger.child({ component: 'outbox-relay' })
  const clock = options.clock ?? (() => new Date())
  const intervalMs = options.intervalMs ?? 1000
  let running: Promise<number> | undefined
  let again = false
  let stopped = false

  async function publish(event: EventDoc): Promise<void> {
    // Completes the projection of a writer that died after its event insert (idempotent otherwise).
    await options.recorder.project(event)
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
    await store.events.updateOne({ _id: event._id }, { $set: { published: true, publishedAt: clock().toISOString() } })
  }

  async function pass(): Promise<number> {
    let published = 0
    for (;;) {
      const batch = await store.events
        .find({ published: false })
        .sort({ occurredAt: 1, version: 1 })
        .limit(100)
        .toArray()
      for (const event of batch) {
        await publish(event)
        published++
      }
      if (batch.length < 100) return published
    }
  }

  function runOnce(): Promise<number> {
    if (running) {
      again = true
      return running
    }
    running = pass()
      .catch((error: unknown) => {
        log.warn({ err: error }, 'publishing appointment events failed; will retry')
        return 0
      })
      .finally(() => {
        running = undefined
        if (again && !stopped) {
          again = false
          void runOnce()
        }
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
