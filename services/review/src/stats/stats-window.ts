const DAY_MS = 86_400_000
const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: DAY_MS }

export const MAX_WINDOW_MS = 30 * DAY_MS

/** The form of a window, as the API's document states it (its range is parseWindow's to check). */
export const WINDOW_PATTERN = '^[0-9]{1,6}[mhd]$'

/** `15m`, `24h`, `7d` → milliseconds; undefined for anything else, or outside (0, 30d]. */
export function parseWindow(text: string): number | undefined {
  const match = /^([0-9]{1,6})([mhd])$/.exec(text)
  if (!match) return undefined
  const ms = Number(match[1]) * (UNITS[match[2] as string] as number)
  return ms > 0 && ms <= MAX_WINDOW_MS ? ms : undefined
}
