// Slots for one demo run: in the future, and held by nobody on either side, so every run works
// against the same stack however many ran before (the sandbox forgets on restart, calsync does not).

export interface Interval {
  start: number
  end: number
}

/**
 * `count` back-to-back-or-later slots of `lengthMs`, on a grid of `lengthMs` from `from`, each
 * overlapping none of `busy`.
 */
export function pickFreeSlots(busy: Interval[], from: number, count: number, lengthMs: number): number[] {
  const sorted = [...busy].sort((a, b) => a.start - b.start)
  const slots: number[] = []
  let candidate = from
  while (slots.length < count) {
    const end = candidate + lengthMs
    const clash = sorted.find((interval) => interval.start < end && candidate < interval.end)
    if (clash) {
      // Jump to the first grid point at or after the clash ends.
      candidate = from + Math.ceil((clash.end - from) / lengthMs) * lengthMs
      continue
    }
    slots.push(candidate)
    candidate = end
  }
  return slots
}

/**
 * The next whole hour a week ahead: never "in the past" mid-run, and clear of the slot the curl
 * example of `npm start` suggests (tomorrow or the day after).
 */
export function searchStart(now: Date): number {
  const hour = 3_600_000
  return Math.ceil((now.getTime() + 7 * 24 * hour) / hour) * hour
}
