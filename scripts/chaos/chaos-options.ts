// What a chaos run does, read from the environment (`npm run chaos` takes no flags, so the short
// variant inside `npm test` and a long run by hand differ only in these variables).

export interface ChaosOptions {
  /** Changes attempted in all: local ones through the API and customer ones on Cal.com. */
  changes: number
  /** SIGKILLs of every service instance during the run. */
  killsPerInstance: number
  /** Clients making changes at once. */
  clients: number
  seed: number
  /** Keep the run's data and logs directory afterwards. */
  keep: boolean
  /** Minutes allowed for the system to settle after the last change. */
  settleMinutes: number
  /** Seconds between reconcile passes of every tenant while the changes run; 0: none. */
  reconcileSeconds: number
}

export function chaosOptions(env: NodeJS.ProcessEnv): ChaosOptions {
  const whole = (name: string, fallback: number, min: number) => {
    const text = env[name]
    if (text === undefined || text === '') return fallback
    const value = Number(text)
    if (!Number.isInteger(value) || value < min) throw new Error(`${name}: "${text}" is not a whole number ≥ ${min}`)
    return value
  }
  return {
    changes: whole('CALSYNC_CHAOS_CHANGES', 2000, 1),
    killsPerInstance: whole('CALSYNC_CHAOS_KILLS', 3, 0),
    clients: whole('CALSYNC_CHAOS_CLIENTS', 4, 1),
    seed: whole('CALSYNC_CHAOS_SEED', Math.floor(Math.random() * 2 ** 31), 0),
    keep: env.CALSYNC_CHAOS_KEEP === '1',
    settleMinutes: whole('CALSYNC_CHAOS_SETTLE_MINUTES', 5, 1),
    reconcileSeconds: whole('CALSYNC_CHAOS_RECONCILE_SECONDS', 0, 0),
  }
}

/** A small seeded generator (mulberry32): the same seed draws the same plan of changes and kills. */
export function seededRandom(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (below: number) => Math.floor(next() * below),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
  }
}

export type Random = ReturnType<typeof seededRandom>
