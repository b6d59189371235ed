import type { Attributes, Counter } from '@opentelemetry/api'

export type LabelSet = Record<string, string>

/** Every combination of the values given: `{ a: ['1', '2'], b: ['x'] }` → `{a:1,b:x}`, `{a:2,b:x}`. */
export function labelCombinations(dimensions: Record<string, readonly string[]>): LabelSet[] {
  return Object.entries(dimensions).reduce<LabelSet[]>(
    (sets, [name, values]) => sets.flatMap((set) => values.map((value) => ({ ...set, [name]: value }))),
    [{}],
  )
}

/**
 * Exports the counter at 0 for each label set known in advance, so after a restart `rate()` and
 * `increase()` see a 0 rather than no series until the first event. Only bounded labels belong
 * here (enums, tenants); a series per id would grow without end.
 */
export function zeroed<T extends Counter<Attributes>>(counter: T, labelSets: Iterable<LabelSet>): T {
  for (const labels of labelSets) counter.add(0, labels)
  return counter
}
