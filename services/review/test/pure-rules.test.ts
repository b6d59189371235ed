import { createNames } from '@calsync/contracts'
import { errorBackoffMs, tenantOfSubject } from '@calsync/service-kit'
import { headers as createHeaders } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { parseResyncArgs, UsageError } from '../src/cli/resync-cli.ts'
import { advisoriesStreamDefinition } from '../src/intake/max-deliveries-consumer.ts'
import { reviewItemIdOf } from '../src/items/review-item.ts'
import { replayHeaders, replayMsgId, storedMessageOf } from '../src/replay/stored-message-replay.ts'
import { parseWindow } from '../src/stats/stats-window.ts'
import { reviewTopology } from '../src/topology.ts'

describe('review rules without servers', () => {
  it('derives one stable, URL-safe item id per cause', () => {
    const id = reviewItemIdOf('sync_failed:acme-dental:apt_1')
    expect(id).toMatch(/^rv_[0-9a-f]{24}$/)
    expect(reviewItemIdOf('sync_failed:acme-dental:apt_1')).toBe(id)
    expect(reviewItemIdOf('sync_failed:acme-dental:apt_2')).not.toBe(id)
  })

  it('parses stats windows up to 30 days', () => {
    expect(parseWindow('15m')).toBe(900_000)
    expect(parseWindow('24h')).toBe(86_400_000)
    expect(parseWindow('30d')).toBe(30 * 86_400_000)
    for (const bad of ['0h', '31d', '721h', '1w', '1.5h', ' 1h', '']) expect(parseWindow(bad), bad).toBeUndefined()
  })

  it('reads the tenant from a subject, and knows its own streams', () => {
    const names = createNames('ns1')
    expect(tenantOfSubject(names, 'ns1.sync.acme-dental.failed')).toBe('acme-dental')
    expect(tenantOfSubject(names, 'ns1.calcom.webhook.bright-smiles.BOOKING_CREATED')).toBe('bright-smiles')
    expect(tenantOfSubject(names, 'ns1.sync.Not_A_Tenant.failed')).toBeUndefined()
    expect(tenantOfSubject(createNames(''), 'review.acme-dental.sync_failed')).toBe('acme-dental')
    expect(advisoriesStreamDefinition(names)).toMatchObject({
      name: 'ns1_CALSYNC_ADVISORIES',
      subjects: [
        '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ns1_CALSYNC_WEBHOOKS.*',
        '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ns1_CALSYNC_APPOINTMENTS.*',
        '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ns1_CALSYNC_SYNC.*',
        '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ns1_CALSYNC_REVIEW.*',
      ],
    })
    expect(advisoriesStreamDefinition(createNames('')).name).toBe('CALSYNC_ADVISORIES')
  })

  it('parses the resync command line', () => {
    const env = { CALSYNC_ADMIN_TOKEN: 'operator', REVIEW_PORT: '9000' }
    expect(parseResyncArgs(['--older-than', '10m', '--dry-run', '--status', 'failed,pending'], env)).toEqual({
      olderThanSeconds: 600,
      dryRun: true,
      statuses: ['failed', 'pending'],
      url: 'http://127.0.0.1:9000',
      token: 'operator',
    })
    expect(parseResyncArgs(['--older-than', '90', '--url', 'https://review.example/', '--token', 't'], {})).toEqual({
      olderThanSeconds: 90,
      dryRun: false,
      statuses: undefined,
      url: 'https://review.example',
      token: 't',
    })
    expect(parseResyncArgs(['-h'], {})).toBe('help')
    for (const argv of [[], ['--older-than', '1w'], ['--older-than', '1m', '--url', 'ftp://x'], ['extra']]) {
      expect(() => parseResyncArgs(argv, env), argv.join(' ')).toThrow(UsageError)
    }
  })

  it('reads the stored message an item names, and what a replay of it carries', () => {
    expect(storedMessageOf({ stream: 'S', streamSequence: 5, subject: 'a.b' })).toEqual({
      stream: 'S',
      streamSequence: 5,
      subject: 'a.b',
    })
    expect(storedMessageOf({ stream: 'S', streamSequence: 5, subject: null })).toMatchObject({ subject: null })
    for (const detail of [{}, { stream: 'S' }, { stream: '', streamSequence: 1 }, { stream: 'S', streamSequence: 0 }]) {
      expect(storedMessageOf(detail), JSON.stringify(detail)).toBeUndefined()
    }
    expect(storedMessageOf({ stream: 'S', streamSequence: '5' })).toBeUndefined()

    const ref = { stream: 'CALSYNC_WEBHOOKS', streamSequence: 12, subject: null }
    expect(replayMsgId(ref, 2)).toBe('replay:CALSYNC_WEBHOOKS:12:2')
    const original = createHeaders()
    for (const [key, value] of [
      ['Nats-Msg-Id', 'delivery-1'],
      ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
      ['tracestate', 'vendor=1'],
      ['Calsync-Tenant', 'acme-dental'],
      ['Calsync-Type', 'calcom.webhook.verified'],
      ['Calsync-Replay-Of', 'CALSYNC_WEBHOOKS:3'],
      ['X-Something-Else', 'dropped'],
    ] as const) {
      original.set(key, value)
    }
    const copied = replayHeaders(original, ref)
    expect(Object.fromEntries(copied.keys().map((key) => [key, copied.get(key)]))).toEqual({
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'vendor=1',
      'Calsync-Tenant': 'acme-dental',
      'Calsync-Type': 'calcom.webhook.verified',
      // A replay of a replay names the message it republished, not the first one.
      'Calsync-Replay-Of': 'CALSYNC_WEBHOOKS:12',
    })
  })

  it('keeps retrying a failing handler on each of its durables for at least 5 minutes', () => {
    for (const definition of reviewTopology(createNames('')).consumers) {
      let total = 0
      for (let delivery = 1; delivery < definition.maxDeliver; delivery++) total += errorBackoffMs(delivery)
      expect(total, definition.durable).toBeGreaterThanOrEqual(5 * 60_000)
    }
  })
})
