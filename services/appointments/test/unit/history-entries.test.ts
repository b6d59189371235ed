import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type HistoryEntry, inOrder, traceIdOf } from '../../src/history/history-entries.ts'

const entry = (at: string, what: string, version: number | null): HistoryEntry => ({
  at,
  what,
  who: 'x',
  version,
  bookingUid: null,
  detail: what,
  traceId: null,
})

describe('the order of an appointment’s story', () => {
  const entries = [
    entry('2030-05-01T10:00:00.000Z', 'created', 1),
    entry('2030-05-01T10:00:00.000Z', 'sync_attempt', 1),
    entry('2030-05-01T10:00:01.000Z', 'echo', null),
    entry('2030-05-01T10:00:02.000Z', 'moved', 2),
    entry('2030-05-01T10:00:02.000Z', 'conflict', null),
  ]

  it('is time order, a change before what followed from it at the same instant, however the parts arrive', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(entries, { minLength: entries.length }), (shuffled) => {
        expect(inOrder(shuffled).map((item) => item.what)).toEqual([
          'created',
          'sync_attempt',
          'echo',
          'moved',
          'conflict',
        ])
      }),
    )
  })

  it('reads the trace id of a W3C traceparent, and nothing else', () => {
    expect(traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    )
    expect(traceIdOf('garbage')).toBeNull()
    expect(traceIdOf(undefined)).toBeNull()
  })
})
