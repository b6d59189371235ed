import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { blockUntil, type CallWindowState, decideCall, parseCallWindowState } from '../src/calcom/call-window.ts'

const W = 1000
const state = (calls: number[], blockedUntil = 0): CallWindowState => ({ calls, blockedUntil })

/** The most calls that fall in one interval [s, s + windowMs), by brute force over every start at a call. */
function busiestWindow(calls: number[], windowMs: number): number {
  return Math.max(0, ...calls.map((start) => calls.filter((call) => call >= start && call < start + windowMs).length))
}

describe('decideCall: a sliding-window log per API key', () => {
  const cases: Array<[string, CallWindowState | undefined, number, number, ReturnType<typeof decideCall>]> = [
    ['allows the first call of a fresh key', undefined, 5_000, 3, { ok: true, next: state([5_000]) }],
    [
      'allows while fewer than the limit lie in the window',
      state([4_200, 4_500]),
      5_000,
      3,
      { ok: true, next: state([4_200, 4_500, 5_000]) },
    ],
    [
      'refuses at the limit until the oldest call leaves the window',
      state([4_200, 4_500, 4_900]),
      5_000,
      3,
      { ok: false, waitMs: 200 },
    ],
    [
      'counts a call exactly windowMs ago as gone (calls less than windowMs apart share a window)',
      state([4_000, 4_500, 4_900]),
      5_000,
      3,
      { ok: true, next: state([4_500, 4_900, 5_000]) },
    ],
    [
      'prunes calls older than the window',
      state([1_000, 2_000, 4_999]),
      5_000,
      2,
      { ok: true, next: state([4_999, 5_000]) },
    ],
    [
      'refuses a blocked key until the block ends, even with calls to spare',
      state([], 5_300),
      5_000,
      3,
      { ok: false, waitMs: 300 },
    ],
    ['allows again once the block has ended', state([], 5_000), 5_000, 3, { ok: true, next: state([5_000], 5_000) }],
    [
      'waits for the later of the block and the window',
      state([4_500, 4_600], 5_100),
      5_000,
      2,
      { ok: false, waitMs: 500 },
    ],
    [
      'waits for enough calls to leave when the limit was lowered',
      state([4_100, 4_200, 4_300, 4_400, 4_500]),
      5_000,
      3,
      { ok: false, waitMs: 300 },
    ],
    [
      'records a call no earlier than the last one when this clock is behind',
      state([5_010]),
      5_000,
      3,
      { ok: true, next: state([5_010, 5_010]) },
    ],
  ]
  it.each(cases)('%s', (_, before, now, limit, expected) => {
    expect(decideCall(before, now, limit, W)).toEqual(expected)
  })

  it('refuses a limit that is not a positive integer', () => {
    expect(() => decideCall(undefined, 0, 0, W)).toThrow(RangeError)
  })

  it('never shortens a block', () => {
    expect(blockUntil(undefined, 7_000)).toEqual(state([], 7_000))
    expect(blockUntil(state([1, 2], 9_000), 7_000)).toEqual(state([1, 2], 9_000))
    expect(blockUntil(state([1, 2], 6_000), 7_000)).toEqual(state([1, 2], 7_000))
  })

  it('reads only well-formed stored states', () => {
    expect(parseCallWindowState({ calls: [3, 1, 2], blockedUntil: 0 })).toEqual(state([1, 2, 3]))
    expect(parseCallWindowState({ calls: ['1'], blockedUntil: 0 })).toBeUndefined()
    expect(parseCallWindowState({ calls: [], blockedUntil: null })).toBeUndefined()
    expect(parseCallWindowState('nonsense')).toBeUndefined()
    expect(parseCallWindowState(null)).toBeUndefined()
  })

  const step = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('call' as const), dt: fc.integer({ min: 0, max: 400 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('block' as const),
        dt: fc.integer({ min: 0, max: 400 }),
        forMs: fc.integer({ min: 0, max: 2_000 }),
      }),
    },
  )

  it('never allows more than the limit in any window, refuses only when it must, and waits exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 1_500 }),
        fc.array(step, { maxLength: 80 }),
        (limit, windowMs, steps) => {
          let current: CallWindowState | undefined
          let now = 1_000_000
          let blockedUntil = 0
          const allowed: number[] = []
          for (const s of steps) {
            now += s.dt
            if (s.kind === 'block') {
              current = blockUntil(current, now + s.forMs)
              blockedUntil = Math.max(blockedUntil, now + s.forMs)
              continue
            }
            const decision = decideCall(current, now, limit, windowMs)
            const wouldBreak = busiestWindow([...allowed, now], windowMs) > limit
            // Refused exactly when Cal.com blocked the key or one more call would break the limit.
            expect(decision.ok).toBe(!(now < blockedUntil || wouldBreak))
            if (decision.ok) {
              allowed.push(now)
              current = decision.next
              // The stored log stays bounded by the limit.
              expect(current.calls.length).toBeLessThanOrEqual(limit)
            } else {
              // Exact: allowed at now + waitMs, not a millisecond earlier (absent other calls).
              expect(decision.waitMs).toBeGreaterThan(0)
              expect(decideCall(current, now + decision.waitMs, limit, windowMs).ok).toBe(true)
              expect(decideCall(current, now + decision.waitMs - 1, limit, windowMs).ok).toBe(false)
            }
          }
          expect(busiestWindow(allowed, windowMs)).toBeLessThanOrEqual(limit)
        },
      ),
      { numRuns: 500 },
    )
  })
})
