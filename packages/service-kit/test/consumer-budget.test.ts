import { type ConsumerDefinition, consumerDefinitions, createNames } from '@calsync/contracts'
import { DEFAULT_ERROR_BACKOFF, type ErrorBackoff, errorBackoffMs } from '@calsync/service-kit'
import { describe, expect, it } from 'vitest'

const MINUTE = 60_000

/** How long a consumer keeps redelivering a message whose handler throws every time. */
function errorBudgetMs(definition: ConsumerDefinition, backoff: ErrorBackoff = DEFAULT_ERROR_BACKOFF): number {
  let total = 0
  // The last delivery's failure is the give-up, not a wait: deliveries 1..maxDeliver-1 wait.
  for (let delivery = 1; delivery < definition.maxDeliver; delivery++) total += errorBackoffMs(delivery, backoff)
  return total
}

describe('errorBackoffMs', () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 8000],
    [5, 16_000],
    [6, 32_000],
    [7, 60_000],
    [8, 60_000],
    [40, 60_000],
    [10_000, 60_000],
  ])('after delivery %i waits %i ms by default', (deliveryCount, expected) => {
    expect(errorBackoffMs(deliveryCount)).toBe(expected)
    expect(errorBackoffMs(deliveryCount, DEFAULT_ERROR_BACKOFF)).toBe(expected)
  })

  it.each([
    [{ initialMs: 250, maxMs: 1000 }, [250, 500, 1000, 1000, 1000]],
    [{ initialMs: 500, maxMs: 3000 }, [500, 1000, 2000, 3000, 3000]],
    [{ initialMs: 5000, maxMs: 5000 }, [5000, 5000, 5000, 5000, 5000]],
    [{ initialMs: 0, maxMs: 1000 }, [0, 0, 0, 0, 0]],
  ])('follows %j', (backoff, expected) => {
    expect([1, 2, 3, 4, 5].map((count) => errorBackoffMs(count, backoff))).toEqual(expected)
  })

  it.each([0, -3, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'answers a delay within the bounds for a delivery count of %d',
    (count) => {
      const delay = errorBackoffMs(count)
      expect(Number.isFinite(delay)).toBe(true)
      expect(delay).toBeGreaterThanOrEqual(1000)
      expect(delay).toBeLessThanOrEqual(60_000)
    },
  )
})

describe('consumer delivery budgets', () => {
  // A property of configuration: enough redeliveries to outlast a 5-minute database or NATS outage.
  const definitions = Object.entries(consumerDefinitions(createNames()))

  it.each(definitions)('%s keeps retrying a failing handler for at least 5 minutes', (_name, definition) => {
    expect(errorBudgetMs(definition)).toBeGreaterThanOrEqual(5 * MINUTE)
  })

  it('matches the arithmetic written beside the definitions', () => {
    const budget = (maxDeliver: number) => errorBudgetMs({ maxDeliver } as ConsumerDefinition)
    expect(budget(20)).toBe(843_000)
    expect(budget(40)).toBe(2_043_000)
    const byName = Object.fromEntries(definitions.map(([name, d]) => [name, d.maxDeliver]))
    expect(byName).toEqual({ appointmentsWebhooks: 40, appointmentsSyncResults: 20, calcomSync: 40, review: 20 })
  })
})
