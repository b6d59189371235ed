const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Parses `200ms`, `1s`, `5m`, `2h` into milliseconds; throws on anything else. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim())
  if (!match) throw new Error(`"${text}" is not a duration like 200ms, 1s, 5m or 2h`)
  return Math.round(Number(match[1]) * (UNITS[match[2] as string] as number))
}

/** Parses a comma list of durations, e.g. `1s,5s,30s`. */
export function parseDurationList(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim())
  if (parts.length === 0 || parts.some((part) => part === '')) {
    throw new Error(`"${text}" is not a comma list of durations like 1s,5s,30s`)
  }
  return parts.map(parseDuration)
}
