import { describe, expect, it } from 'vitest'
import { createRateBudget } from '../src/sync/rate-budget.ts'

describe('per-tenant rate budget', () => {
  it('spends one tenant budget without touching another and refills over time', () => {
    let now = 0
    const budget = createRateBudget({ perMinute: 4, clock: () => now })
    expect(budget.take('a', 2)).toEqual({ ok: true })
    expect(budget.take('a', 2)).toEqual({ ok: true })
    const refused = budget.take('a', 2)
    expect(refused).toEqual({ ok: false, waitMs: 30_000 })
    expect(budget.take('b', 2)).toEqual({ ok: true })
    now = 30_000
    expect(budget.take('a', 2)).toEqual({ ok: true })
  })

  it('blocks a tenant until a rate-limit reset', () => {
    let now = 0
    const budget = createRateBudget({ perMinute: 100, clock: () => now })
    budget.block('a', 5000)
    expect(budget.take('a')).toEqual({ ok: false, waitMs: 5000 })
    expect(budget.take('b')).toEqual({ ok: true })
    now = 4999
    expect(budget.take('a')).toEqual({ ok: false, waitMs: 1 })
    now = 5000
    expect(budget.take('a')).toEqual({ ok: true })
  })
})
