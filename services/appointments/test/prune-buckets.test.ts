import { describe, expect, it } from 'vitest'
import { bucketOf, MAX_BUCKETS, prunePlan } from '../src/appointments/prune-buckets.ts'

describe('prunePlan', () => {
  it.each([
    [
      'first pass: the newest gone only (the legacy range covers what is older)',
      'day',
      undefined,
      '2031-03-04',
      ['2031-03-04'],
      '2031-03-04',
    ],
    ['nothing new since the last pass', 'day', '2031-03-04', '2031-03-04', [], '2031-03-04'],
    ['a watermark ahead (another instance, a clock behind)', 'day', '2031-03-06', '2031-03-04', [], '2031-03-06'],
    [
      'the days since the last pass',
      'day',
      '2031-02-27',
      '2031-03-02',
      ['2031-02-28', '2031-03-01', '2031-03-02'],
      '2031-03-02',
    ],
    [
      'hours across midnight',
      'hour',
      '2031-03-04T22',
      '2031-03-05T01',
      ['2031-03-04T23', '2031-03-05T00', '2031-03-05T01'],
      '2031-03-05T01',
    ],
  ] as const)('%s', (_, unit, through, newestGone, buckets, after) => {
    expect(prunePlan(unit, through, newestGone)).toEqual({ buckets, through: after })
  })

  it('takes at most a capped number of buckets a pass; the next pass goes on from there', () => {
    const first = prunePlan('hour', '2030-01-01T00', '2031-01-01T00')
    expect(first.buckets).toHaveLength(MAX_BUCKETS.hour)
    expect(first.buckets[0]).toBe('2030-01-01T01')
    const second = prunePlan('hour', first.through, '2031-01-01T00')
    expect(second.buckets[0]).toBe(
      bucketOf('hour', new Date(Date.parse('2030-01-01T01:00:00Z') + MAX_BUCKETS.hour * 3_600_000).toISOString()),
    )
  })

  it('names buckets by the UTC day or hour of an instant', () => {
    expect(bucketOf('day', '2031-03-04T23:59:59.999Z')).toBe('2031-03-04')
    expect(bucketOf('hour', '2031-03-04T23:59:59.999Z')).toBe('2031-03-04T23')
  })
})
