import { constants, monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks'
import { getHeapSpaceStatistics } from 'node:v8'
import type { Meter } from '@opentelemetry/api'

/**
 * Process and runtime series for every service: CPU, resident memory, V8 heap, event-loop delay
 * and utilization, GC pauses. Named after the OpenTelemetry semantic conventions (`process.*`,
 * `nodejs.*`, `v8js.*`) in their Prometheus form, as `@opentelemetry/instrumentation-runtime-node`
 * would export them; that package is not used because its 0.37 release needs
 * `@opentelemetry/instrumentation` ^0.300, a second SDK generation beside our 0.301.
 */
export function observeRuntime(meter: Meter): { stop(): void } {
  const counter = (name: string, description: string, unit: string) =>
    meter.createObservableCounter(name, { description, unit })
  const gauge = (name: string, description: string, unit: string) =>
    meter.createObservableGauge(name, { description, unit })
  const cpu = counter('process_cpu_time_seconds', 'CPU time this process used, by mode (user, system)', 's')
  const memory = gauge('process_memory_usage_bytes', 'Resident set size of this process', 'By')
  const heapUsed = gauge('v8js_memory_heap_used_bytes', 'V8 heap in use, by heap space', 'By')
  const heapLimit = gauge('v8js_memory_heap_limit_bytes', 'V8 heap reserved, by heap space', 'By')
  const loopTime = counter(
    'nodejs_eventloop_time_seconds',
    'Time the event loop spent running code (active) or waiting (idle)',
    's',
  )
  const loopUtilization = gauge(
    'nodejs_eventloop_utilization_ratio',
    'Share of time the event loop was active since the previous scrape (0 to 1)',
    '1',
  )
  const delayGauges = DELAY_STATISTICS.map(
    (statistic) =>
      [
        statistic,
        gauge(
          `nodejs_eventloop_delay_${statistic}_seconds`,
          `Event-loop delay since the previous scrape: ${statistic}`,
          's',
        ),
      ] as const,
  )
  const observed = [
    cpu,
    memory,
    heapUsed,
    heapLimit,
    loopTime,
    loopUtilization,
    ...delayGauges.map(([, delayGauge]) => delayGauge),
  ]
  const gcDuration = meter.createHistogram('v8js_gc_duration_seconds', {
    description: 'Garbage-collection pauses, by kind',
    unit: 's',
    advice: { explicitBucketBoundaries: GC_BUCKETS_SECONDS },
  })

  const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS })
  delay.enable()
  let utilizationMark = performance.eventLoopUtilization()
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind
      gcDuration.record(entry.duration / 1000, { 'v8js.gc.type': GC_KINDS.get(kind ?? -1) ?? 'other' })
    }
  })
  gc.observe({ entryTypes: ['gc'] })

  const collect: Parameters<Meter['addBatchObservableCallback']>[0] = (result) => {
    const usage = process.cpuUsage()
    result.observe(cpu, usage.user / 1e6, { 'cpu.mode': 'user' })
    result.observe(cpu, usage.system / 1e6, { 'cpu.mode': 'system' })
    result.observe(memory, process.memoryUsage.rss())
    for (const space of getHeapSpaceStatistics()) {
      const labels = { 'v8js.heap.space.name': space.space_name }
      result.observe(heapUsed, space.space_used_size, labels)
      result.observe(heapLimit, space.space_size, labels)
    }
    const total = performance.eventLoopUtilization()
    result.observe(loopTime, total.active / 1000, { 'nodejs.eventloop.state': 'active' })
    result.observe(loopTime, total.idle / 1000, { 'nodejs.eventloop.state': 'idle' })
    result.observe(loopUtilization, performance.eventLoopUtilization(total, utilizationMark).utilization)
    utilizationMark = total
    // Until the first tick of the sampler the histogram is empty and its figures are meaningless.
    if (delay.count > 0) {
      for (const [statistic, gauge] of delayGauges) result.observe(gauge, delayValue(delay, statistic) / 1e9)
      delay.reset()
    }
  }
  meter.addBatchObservableCallback(collect, observed)
  return {
    stop() {
      meter.removeBatchObservableCallback(collect, observed)
      delay.disable()
      gc.disconnect()
    },
  }
}

const DELAY_STATISTICS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const
type DelayStatistic = (typeof DELAY_STATISTICS)[number]

/** The sampler's granularity: finer costs more wake-ups, coarser hides short stalls. */
const DELAY_RESOLUTION_MS = 20

/** From a young-generation scavenge (about a millisecond) to a full pause of a large heap. */
const GC_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]

const GC_KINDS = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
])

/** Nanoseconds, as the histogram keeps them. */
function delayValue(delay: ReturnType<typeof monitorEventLoopDelay>, statistic: DelayStatistic): number {
  switch (statistic) {
    case 'p50':
      return delay.percentile(50)
    case 'p90':
      return delay.percentile(90)
    case 'p99':
      return delay.percentile(99)
    default:
      return delay[statistic]
  }
}
