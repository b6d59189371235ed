/**
 * Whether a tenant's Cal.com webhooks have gone silent, from what the reconciler knows after a
 * pass: a pure function, so a quiet tenant, a lost delivery and a switched-off subscription are
 * rows of a table (test/unit/webhook-silence.test.ts).
 *
 * Silent when either
 * - passes keep finding changes webhooks should have told (`repeatPasses` passes in a row), or
 * - Cal.com changed after the last accepted webhook, long enough ago that its webhook would have
 *   come (`graceMs`), and no webhook was accepted for `silenceAfterMs`.
 * Once flagged it stays silent until a webhook newer than the last one known when it was flagged
 * is accepted (not "after the flag": a webhook accepted while the pass read the old time would
 * never count) and the last pass found nothing missed: webhooks flow again.
 */
export interface SilenceSettings {
  silenceAfterMs: number
  graceMs: number
  repeatPasses: number
}

export const DEFAULT_SILENCE_SETTINGS: SilenceSettings = {
  silenceAfterMs: 30 * 60_000,
  graceMs: 2 * 60_000,
  repeatPasses: 2,
}

export interface SilenceInput {
  now: number
  /** When the gateways last accepted a webhook of the tenant; null: never (or not recorded). */
  lastWebhookAt: number | null
  /** Missed changes found by the latest passes, oldest first (the latest pass last). */
  recentMissed: readonly number[]
  /** The newest creation or update among the bookings the latest pass listed. */
  newestChangeAt: number | null
  /** The flag the tenant carries from earlier passes, if any. */
  flagged: Silent | null
}

export type SilenceReason = 'missed_repeatedly' | 'no_webhooks'
export interface Silent {
  state: 'silent'
  reason: SilenceReason
  since: number
  /** The last accepted webhook known when the silence was flagged (null: none). */
  lastHeard: number | null
}
export type SilenceVerdict = Silent | { state: 'flowing' }

export function silenceOf(input: SilenceInput, settings: SilenceSettings): SilenceVerdict {
  const { now } = input
  const lastWebhook = input.lastWebhookAt ?? Number.NEGATIVE_INFINITY
  const recent = input.recentMissed.slice(-settings.repeatPasses)
  const missedRepeatedly = recent.length >= settings.repeatPasses && recent.every((missed) => missed > 0)
  const change = input.newestChangeAt
  const unheard =
    change !== null &&
    change > lastWebhook &&
    now - change >= settings.graceMs &&
    now - lastWebhook >= settings.silenceAfterMs
  const { flagged } = input
  // A flag keeps its first reason and time: one item per silence, however it shows.
  const lastHeard = input.lastWebhookAt
  if (missedRepeatedly) return flagged ?? { state: 'silent', reason: 'missed_repeatedly', since: now, lastHeard }
  if (unheard) return flagged ?? { state: 'silent', reason: 'no_webhooks', since: now, lastHeard }
  if (!flagged) return { state: 'flowing' }
  const latestMissed = input.recentMissed.at(-1) ?? 0
  const heardSince = lastHeard !== null && lastHeard > (flagged.lastHeard ?? Number.NEGATIVE_INFINITY)
  return heardSince && latestMissed === 0 ? { state: 'flowing' } : flagged
}
