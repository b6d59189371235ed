// The steps of a randomized whole-sync schedule (test/whole-sync.property.test.ts) and how fast-check draws them.
import fc from 'fast-check'
import type { SyncKillPoint } from './sync-processes.ts'

/** Quarter hours from 9:00: a 30-minute booking at one overlaps the next, so collisions are common. */
export const SLOT_MINUTES = [0, 15, 30, 60]

export type Step =
  | { kind: 'local-create'; slot: number; twice: boolean; phone: boolean; idempotent: boolean }
  | { kind: 'local-reschedule'; target: number; slot: number; twice: boolean }
  | { kind: 'local-cancel'; target: number; twice: boolean }
  | { kind: 'customer-book'; slot: number }
  | { kind: 'customer-reschedule'; target: number; slot: number }
  | { kind: 'customer-cancel'; target: number }
  | { kind: 'hold-webhooks' }
  | { kind: 'release-webhooks'; reverse: boolean; twice: boolean }
  /** The webhooks held so far, and those sent until the next release, are never delivered (Cal.com gave up on them): only the reconciler can tell. */
  | { kind: 'lose-webhooks' }
  /**
   * Gateway `instance` answers 503 to its next `deliveries` webhooks, having stored them or not
   * (an ack that came too late). Cal.com tries again only on its newest delivery path: the first
   * such step of a schedule says whether it does (`retried`) for the whole schedule.
   */
  | { kind: 'gateway-503'; instance: number; deliveries: number; stored: boolean; retried: boolean }
  | { kind: 'calcom-fault'; on: 'create' | 'reschedule' | 'cancel'; fault: '503' | 'commitThenDrop' | '429' | 'hang' }
  /** The next change the appointments service writes stops right after its event insert, as in a crash. */
  | { kind: 'crash-appointments' }
  /** SIGKILL a calcom-sync worker now, and restart it set to die again at `point`. */
  | { kind: 'kill-sync'; worker: number; point: SyncKillPoint }

const slotArb = fc.nat(SLOT_MINUTES.length - 1)
export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('local-create' as const),
      slot: slotArb,
      twice: fc.boolean(),
      phone: fc.boolean(),
      idempotent: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('local-reschedule' as const),
      target: fc.nat(5),
      slot: slotArb,
      twice: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('local-cancel' as const), target: fc.nat(5), twice: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('customer-book' as const), slot: slotArb }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('customer-reschedule' as const), target: fc.nat(5), slot: slotArb }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('customer-cancel' as const), target: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'hold-webhooks' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('release-webhooks' as const),
      reverse: fc.boolean(),
      twice: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('calcom-fault' as const),
      on: fc.constantFrom('create' as const, 'reschedule' as const, 'cancel' as const),
      fault: fc.constantFrom('503' as const, 'commitThenDrop' as const, '429' as const, 'hang' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'lose-webhooks' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('gateway-503' as const),
      instance: fc.nat(1),
      // At most two, so three attempts always get a retried delivery through.
      deliveries: fc.integer({ min: 1, max: 2 }),
      stored: fc.boolean(),
      retried: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash-appointments' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('kill-sync' as const),
      worker: fc.nat(1),
      point: fc.constantFrom('during-lease' as const, 'after-calcom-answer' as const, 'before-result-publish' as const),
    }),
  },
)

/** Cal.com's retries in a schedule whose gateway answers 503 (its newest path waits 10 s and more). */
export const WEBHOOK_RETRIES = { attempts: 3, delayMs: 300 }

export const FAULT_PATH = {
  create: '^/v2/bookings$',
  reschedule: '^/v2/bookings/[^/]+/reschedule$',
  cancel: '^/v2/bookings/[^/]+/cancel$',
}
