import { ERROR_CODES } from '@calsync/contracts'
import { AppError } from './errors.ts'

// Anchored and without nested quantifiers, so a hostile string cannot make it backtrack.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

// What toISOString writes with a four-digit year; outside it writes ±YYYYYY, which would neither
// parse back here nor sort with the other stored ISO strings.
const MIN_MS = (() => {
  const date = new Date(0)
  date.setUTCFullYear(0, 0, 1)
  return date.getTime()
})()
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

/**
 * An RFC 3339 date-time (`2030-01-07T10:00:00Z`, `2030-01-07t11:00:00.5+01:00`) as a Date, or
 * undefined for anything a Date cannot hold as written: JSON Schema's `date-time` lets through
 * leap seconds, hour 24 and 30 February, which `new Date` turns into Invalid Date or silently
 * moves to another day. Digits past milliseconds are dropped, as Date keeps no finer time.
 */
export function parseInstant(text: string): Date | undefined {
  const match = RFC3339.exec(text)
  if (!match) return undefined
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  let offsetMinutes = 0
  if (match[8] === undefined) {
    const offsetHours = Number(match[10])
    const offsetRest = Number(match[11])
    if (offsetHours > 23 || offsetRest > 59) return undefined
    offsetMinutes = (match[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetRest)
  }
  const millisecond = Number((match[7] ?? '').slice(0, 3).padEnd(3, '0'))
  const date = new Date(0)
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute - offsetMinutes, second, millisecond)
  const ms = date.getTime()
  if (Number.isNaN(ms) || ms < MIN_MS || ms > MAX_MS) return undefined
  return date
}

/** parseInstant for a request field: a refusal is the caller's mistake, 400 naming the field. */
export function requireInstant(text: string, field: string): Date {
  const instant = parseInstant(text)
  if (instant) return instant
  // The value is not echoed: it can be long, and the field name is what the caller needs.
  throw new AppError(
    ERROR_CODES.badRequest,
    `${field} must be an RFC 3339 date-time between years 0000 and 9999, like 2030-01-07T10:00:00Z`,
    { statusCode: 400 },
  )
}
