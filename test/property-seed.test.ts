import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FIXED_PROPERTY_SEED } from './property-seed.ts'

describe('property-test seed', () => {
  it('is the fixed one in npm test, so CI draws the same cases every run', () => {
    const random = Boolean(process.env.CALSYNC_PROPERTY_RANDOM || process.env.CALSYNC_MODEL_RANDOM)
    const given = process.env.CALSYNC_PROPERTY_SEED
    const expected = given ? Number(given) : random ? undefined : FIXED_PROPERTY_SEED
    expect(fc.readConfigureGlobal().seed).toBe(expected)
  })
})
