import { createServiceMetrics, labelCombinations, zeroed } from '@calsync/service-kit'
import { describe, expect, it, onTestFinished } from 'vitest'
import { eventually } from '../../../test/support/infra.ts'
import { parsePrometheusText } from '../../../test/support/prometheus.ts'

function freshRegistry(serviceName: string) {
  const registry = createServiceMetrics({ serviceName })
  onTestFinished(() => registry.shutdown())
  return registry
}

describe('runtime metrics of every registry', () => {
  it('exports CPU, resident memory, heap and event-loop series on the first scrape', async () => {
    const scrape = parsePrometheusText(await freshRegistry('runtime-test').scrape())
    expect(scrape.types.get('process_cpu_time_seconds_total')).toBe('counter')
    expect(scrape.value('process_cpu_time_seconds_total', { cpu_mode: 'user' })).toBeGreaterThan(0)
    expect(scrape.value('process_cpu_time_seconds_total', { cpu_mode: 'system' })).toBeGreaterThanOrEqual(0)
    expect(scrape.value('process_memory_usage_bytes')).toBeGreaterThan(0)
    expect(scrape.value('v8js_memory_heap_used_bytes', { v8js_heap_space_name: 'old_space' })).toBeGreaterThan(0)
    expect(scrape.value('v8js_memory_heap_limit_bytes', { v8js_heap_space_name: 'old_space' })).toBeGreaterThan(0)
    expect(scrape.value('nodejs_eventloop_time_seconds_total', { nodejs_eventloop_state: 'active' })).toBeGreaterThan(0)
    const utilization = scrape.value('nodejs_eventloop_utilization_ratio')
    expect(utilization).toBeGreaterThanOrEqual(0)
    expect(utilization).toBeLessThanOrEqual(1)
  })

  it('exports event-loop delay once sampled, and GC pauses once one happened', async () => {
    const registry = freshRegistry('runtime-gc-test')
    const scrape = await eventually('event-loop delay and a GC pause to be exported', async () => {
      // Garbage, so that a young-generation collection runs between scrapes.
      let kept = 0
      for (let i = 0; i < 200_000; i++) kept += { i, text: `x${i}` }.text.length
      expect(kept).toBeGreaterThan(0)
      await new Promise((resolve) => setTimeout(resolve, 50))
      const parsed = parsePrometheusText(await registry.scrape())
      return parsed.value('v8js_gc_duration_seconds_count') !== undefined &&
        parsed.value('nodejs_eventloop_delay_p99_seconds') !== undefined
        ? parsed
        : undefined
    })
    expect(scrape.types.get('v8js_gc_duration_seconds')).toBe('histogram')
    expect(scrape.value('v8js_gc_duration_seconds_count')).toBeGreaterThan(0)
    const gcTypes = scrape.samples.filter((sample) => sample.name === 'v8js_gc_duration_seconds_count')
    for (const sample of gcTypes)
      expect(['major', 'minor', 'incremental', 'weakcb']).toContain(sample.labels.v8js_gc_type)
    for (const statistic of ['min', 'max', 'mean', 'p50', 'p90', 'p99']) {
      expect(scrape.value(`nodejs_eventloop_delay_${statistic}_seconds`), statistic).toBeGreaterThan(0)
    }
    expect(scrape.value('nodejs_eventloop_delay_max_seconds')).toBeGreaterThanOrEqual(
      scrape.value('nodejs_eventloop_delay_p50_seconds') ?? Number.POSITIVE_INFINITY,
    )
  })
})

describe('counters at zero', () => {
  it('builds every combination of the values given', () => {
    expect(labelCombinations({ outcome: ['a', 'b'], code: ['x', 'y'] })).toEqual([
      { outcome: 'a', code: 'x' },
      { outcome: 'a', code: 'y' },
      { outcome: 'b', code: 'x' },
      { outcome: 'b', code: 'y' },
    ])
    expect(labelCombinations({ tenant: [], kind: ['a'] })).toEqual([])
  })

  it('exports each known label set at 0 before anything is counted, and counts from there', async () => {
    const registry = freshRegistry('zeroed-test')
    const counter = zeroed(
      registry.meter.createCounter('calsync_zeroed_total'),
      labelCombinations({ tenant: ['acme-dental', 'bright-smiles'], result: ['applied', 'stale'] }),
    )
    const before = parsePrometheusText(await registry.scrape())
    const series = before.samples.filter((sample) => sample.name === 'calsync_zeroed_total')
    expect(series).toHaveLength(4)
    for (const sample of series) expect(sample.value).toBe(0)
    counter.add(1, { tenant: 'acme-dental', result: 'stale' })
    const after = parsePrometheusText(await registry.scrape())
    expect(after.value('calsync_zeroed_total', { tenant: 'acme-dental', result: 'stale' })).toBe(1)
    expect(after.value('calsync_zeroed_total', { tenant: 'bright-smiles' })).toBe(0)
  })
})
