// No vitest import here: the global setup (the main process) reads the switch too.

/**
 * How many instances of every calsync service the test harnesses start, from
 * `CALSYNC_TEST_INSTANCES`: 1 (the default) or 2, as two processes of each service would run.
 */
export function testInstances(value = process.env.CALSYNC_TEST_INSTANCES): 1 | 2 {
  if (value === undefined || value === '' || value === '1') return 1
  if (value === '2') return 2
  throw new Error(`CALSYNC_TEST_INSTANCES must be 1 or 2 (unset means 1), not ${JSON.stringify(value)}`)
}

/**
 * Picks the items in turn, so consecutive calls reach different instances (as a load balancer
 * would send them) and a test that passes cannot owe it to one instance's memory.
 */
export function roundRobin<T>(items: readonly T[]): () => T {
  if (items.length === 0) throw new Error('roundRobin needs at least one item')
  let next = 0
  return () => items[next++ % items.length] as T
}

/**
 * Starts `count` instances one after the other; if one fails, the ones already started are
 * stopped and disconnected before the error goes on.
 */
export async function startInstances<T extends { stop(): Promise<void>; disconnect(): Promise<void> }>(
  count: number,
  start: (instance: number) => Promise<T>,
): Promise<[T, ...T[]]> {
  const started: T[] = []
  try {
    for (let instance = 0; instance < count; instance++) started.push(await start(instance))
  } catch (error) {
    for (const one of started) {
      await one.stop().catch(() => undefined)
      await one.disconnect().catch(() => undefined)
    }
    throw error
  }
  return started as [T, ...T[]]
}
