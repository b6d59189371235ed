import { AppError, parseInstant, requireInstant } from '@calsync/service-kit'
import { describe, expect, it } from 'vitest'

/** Input → the instant it names, as toISOString writes it. */
const accepted: [string, string][] = [
  ['2030-01-07T10:00:00Z', '2030-01-07T10:00:00.000Z'],
  ['2030-01-07T10:00:00.123Z', '2030-01-07T10:00:00.123Z'],
  ['2030-01-07t10:00:00z', '2030-01-07T10:00:00.000Z'],
  ['2030-01-07T10:00:00.5Z', '2030-01-07T10:00:00.500Z'],
  // Date holds milliseconds; finer digits are dropped, never rounded into the next second.
  ['2030-01-07T10:00:00.999999999Z', '2030-01-07T10:00:00.999Z'],
  ['2030-01-07T12:30:00+02:30', '2030-01-07T10:00:00.000Z'],
  ['2030-01-07T00:00:00-10:00', '2030-01-07T10:00:00.000Z'],
  ['2030-01-07T10:00:00-00:00', '2030-01-07T10:00:00.000Z'],
  ['2030-01-07T10:00:00+23:59', '2030-01-06T10:01:00.000Z'],
  ['2030-06-30T23:59:59Z', '2030-06-30T23:59:59.000Z'],
  ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
  ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
  ['0000-01-01T00:00:00Z', '0000-01-01T00:00:00.000Z'],
  ['0099-12-31T23:59:59Z', '0099-12-31T23:59:59.000Z'],
  ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ['9999-12-31T23:59:59+01:00', '9999-12-31T22:59:59.000Z'],
]

/** Input → why it is refused. */
const refused: [string, string][] = [
  ['2030-06-30T23:59:60Z', 'leap second'],
  ['2030-01-07T24:00:00Z', 'hour 24'],
  ['2030-01-07T10:60:00Z', 'minute 60'],
  ['2030-02-30T10:00:00Z', '30 February'],
  ['2030-02-29T10:00:00Z', '29 February outside a leap year'],
  ['1900-02-29T10:00:00Z', '29 February in a century that is not a leap year'],
  ['2030-04-31T10:00:00Z', '31 April'],
  ['2030-13-01T10:00:00Z', 'month 13'],
  ['2030-00-10T10:00:00Z', 'month 0'],
  ['2030-01-00T10:00:00Z', 'day 0'],
  ['2030-01-07T10:00:00+24:00', 'offset of 24 hours'],
  ['2030-01-07T10:00:00+05:60', 'offset minute 60'],
  ['2030-01-07T10:00:00', 'no offset'],
  ['2030-01-07T10:00:00+0100', 'offset without colon'],
  ['2030-01-07T10:00:00+01', 'offset without minutes'],
  ['2030-01-07 10:00:00Z', 'space for T'],
  ['2030-01-07T10:00Z', 'no seconds'],
  ['2030-01-07T10:00:00.Z', 'empty fraction'],
  ['2030-01-07', 'date only'],
  [' 2030-01-07T10:00:00Z', 'leading space'],
  ['2030-01-07T10:00:00Z\n', 'trailing newline'],
  ['+010000-01-01T00:00:00Z', 'six-digit year'],
  ['-000001-01-01T00:00:00Z', 'negative year'],
  ['10000-01-01T00:00:00Z', 'five-digit year'],
  ['0000-01-01T00:00:00+00:01', 'before year 0000 in UTC'],
  ['9999-12-31T23:59:59-00:01', 'after year 9999 in UTC'],
  ['２０３０-01-07T10:00:00Z', 'non-ASCII digits'],
  ['1893456000000', 'epoch milliseconds'],
  ['', 'empty'],
]

describe('parseInstant', () => {
  it.each(accepted)('accepts %s as %s', (text, iso) => {
    const instant = parseInstant(text)
    expect(instant?.toISOString()).toBe(iso)
    // What the services store must come back as the same instant.
    expect(parseInstant(iso)?.getTime()).toBe(instant?.getTime())
  })

  it.each(refused)('refuses %j (%s)', (text) => {
    expect(parseInstant(text)).toBeUndefined()
  })
})

describe('requireInstant', () => {
  it('returns the instant of a valid date-time', () => {
    expect(requireInstant('2030-01-07T11:00:00+01:00', 'from').toISOString()).toBe('2030-01-07T10:00:00.000Z')
  })

  it.each(refused)('throws a 400 bad_request naming the field for %j (%s)', (text) => {
    let thrown: unknown
    try {
      requireInstant(text, 'start')
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(AppError)
    expect(thrown).toMatchObject({ code: 'bad_request', statusCode: 400 })
    expect((thrown as AppError).message).toMatch(/^start must be an RFC 3339 date-time/)
  })
})
