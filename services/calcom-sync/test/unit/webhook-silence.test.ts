import { describe, expect, it } from 'vitest'
import {
  DEFAULT_SILENCE_SETTINGS,
  type SilenceInput,
  type SilenceVerdict,
  silenceOf,
} from '../../src/reconcile/webhook-silence.ts'

const MIN = 60_000
const NOW = Date.parse('2030-05-01T12:00:00.000Z')
const ago = (minutes: number) => NOW - minutes * MIN
const quiet: SilenceInput = {
  now: NOW,
  lastWebhookAt: ago(5),
  recentMissed: [0, 0],
  newestChangeAt: ago(6),
  flagged: null,
}
const flagged = (reason: 'missed_repeatedly' | 'no_webhooks', since: number, lastHeard: number | null = ago(5)) =>
  ({ state: 'silent', reason, since, lastHeard }) as const

const rows: Array<[name: string, input: Partial<SilenceInput>, expected: SilenceVerdict]> = [
  ['webhooks follow the changes', {}, { state: 'flowing' }],
  ['a quiet tenant: no changes, no webhooks', { lastWebhookAt: null, newestChangeAt: null }, { state: 'flowing' }],
  ['a change whose webhook may still come', { lastWebhookAt: ago(40), newestChangeAt: ago(1) }, { state: 'flowing' }],
  [
    'a change long unheard, no webhook for longer than the limit',
    { lastWebhookAt: ago(40), newestChangeAt: ago(10) },
    flagged('no_webhooks', NOW, ago(40)),
  ],
  [
    'changes but never a webhook (a subscription never set up)',
    { lastWebhookAt: null, newestChangeAt: ago(10) },
    flagged('no_webhooks', NOW, null),
  ],
  [
    'a change unheard, but webhooks came recently (one lost delivery, not silence yet)',
    { lastWebhookAt: ago(20), newestChangeAt: ago(10) },
    { state: 'flowing' },
  ],
  ['one pass found a missed change', { recentMissed: [0, 3] }, { state: 'flowing' }],
  ['passes keep finding missed changes', { recentMissed: [2, 3] }, flagged('missed_repeatedly', NOW)],
  [
    'flagged, and still no webhook since',
    { flagged: flagged('no_webhooks', ago(30), ago(60)), lastWebhookAt: ago(60), newestChangeAt: ago(2) },
    flagged('no_webhooks', ago(30), ago(60)),
  ],
  [
    'flagged, and a webhook accepted while that pass read the older time: it counts',
    { flagged: flagged('no_webhooks', ago(1), ago(60)), lastWebhookAt: ago(2), recentMissed: [1, 0] },
    { state: 'flowing' },
  ],
  [
    'flagged, a webhook came since and the last pass missed nothing: flowing again',
    { flagged: flagged('no_webhooks', ago(30), ago(60)), lastWebhookAt: ago(1), recentMissed: [4, 0] },
    { state: 'flowing' },
  ],
  [
    'flagged, a webhook came but the last pass still found missed changes',
    { flagged: flagged('missed_repeatedly', ago(30), ago(60)), lastWebhookAt: ago(1), recentMissed: [0, 2] },
    flagged('missed_repeatedly', ago(30), ago(60)),
  ],
  [
    'flagged, keeps its first reason and time while both rules hold',
    {
      flagged: flagged('no_webhooks', ago(30), ago(60)),
      recentMissed: [1, 1],
      lastWebhookAt: ago(60),
      newestChangeAt: ago(9),
    },
    flagged('no_webhooks', ago(30), ago(60)),
  ],
]

describe('silenceOf', () => {
  for (const [name, input, expected] of rows) {
    it(name, () => expect(silenceOf({ ...quiet, ...input }, DEFAULT_SILENCE_SETTINGS)).toEqual(expected))
  }
})
