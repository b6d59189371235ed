/**
 * An appointment's Cal.com booking chain, kept from facts: each booking uid with the uid it was
 * rescheduled from and who made that step (calsync itself, from its sync results, or the customer,
 * from a webhook that was applied). The current booking is the chain's end — never "the uid
 * learnt last" — so facts arriving in any order give the same answer. Pure functions only.
 */

export type ChainActor = 'calsync' | 'calcom'

export interface ChainLink {
  uid: string
  /** The uid this booking was rescheduled from; null for a booking made as new. */
  from: string | null
  by: ChainActor
  /** The appointment version this booking was made for (0: a booking known only as a predecessor). */
  version: number
  start?: string
  cancelled?: { by: ChainActor; version: number }
}

export type ChainFact =
  | { kind: 'booked'; uid: string; by: ChainActor; version: number; start?: string }
  | { kind: 'moved'; from: string; uid: string; by: ChainActor; version: number; start?: string }
  | { kind: 'cancelled'; uid: string; by: ChainActor; version: number }

export const linkOf = (chain: readonly ChainLink[], uid: string) => chain.find((link) => link.uid === uid)
export const successorOf = (chain: readonly ChainLink[], uid: string) => chain.find((link) => link.from === uid)

/**
 * The bookings with no successor. One is the normal case; two mean a gap (a fact still on its way),
 * during which nobody can tell which booking is current.
 */
export function chainEnds(chain: readonly ChainLink[]): ChainLink[] {
  return chain.filter((link) => !successorOf(chain, link.uid))
}

/**
 * The current booking: the end of the chain made for the newest version, an open one before a
 * cancelled one (a duplicate cancelled on the way is a closed branch, not the booking).
 */
export function chainEnd(chain: readonly ChainLink[]): ChainLink | undefined {
  const ends = chainEnds(chain)
  const open = ends.filter((link) => !link.cancelled)
  let best: ChainLink | undefined
  for (const link of open.length > 0 ? open : ends) if (!best || link.version >= best.version) best = link
  return best
}

/**
 * Whether the chain is complete enough to place a change of Cal.com's in it: no booking known only
 * from a later fact (a step calsync's results have not told yet), and at most one open end (a
 * cancelled end is a closed branch; two open ends mean a fact is still on its way).
 */
export function isUnambiguous(chain: readonly ChainLink[]): boolean {
  return !chain.some((link) => link.version === 0) && chainEnds(chain).filter((link) => !link.cancelled).length <= 1
}

function upsert(chain: ChainLink[], link: ChainLink): ChainLink[] {
  const existing = linkOf(chain, link.uid)
  if (!existing) return [...chain, link]
  // A placeholder (known only as someone's predecessor) learns where it came from.
  if (existing.version === 0 && link.version > 0) {
    return chain.map((item) =>
      item.uid === link.uid ? { ...link, ...(item.cancelled ? { cancelled: item.cancelled } : {}) } : item,
    )
  }
  return chain
}

/** Adds a fact; facts already known change nothing, so applying one twice is harmless. */
export function withFact(chain: readonly ChainLink[], fact: ChainFact): ChainLink[] {
  let next = [...chain]
  const startOf = (start?: string) => (start ? { start } : {})
  switch (fact.kind) {
    case 'booked':
      return upsert(next, { uid: fact.uid, from: null, by: fact.by, version: fact.version, ...startOf(fact.start) })
    case 'moved':
      if (!linkOf(next, fact.from)) next = upsert(next, { uid: fact.from, from: null, by: fact.by, version: 0 })
      // Cal.com refuses to reschedule a booking twice: a second successor is never a fact.
      if (successorOf(next, fact.from)) return next
      return upsert(next, {
        uid: fact.uid,
        from: fact.from,
        by: fact.by,
        version: fact.version,
        ...startOf(fact.start),
      })
    case 'cancelled': {
      if (!linkOf(next, fact.uid)) next = upsert(next, { uid: fact.uid, from: null, by: fact.by, version: 0 })
      return next.map((link) =>
        link.uid === fact.uid && !link.cancelled
          ? { ...link, cancelled: { by: fact.by, version: fact.version } }
          : link,
      )
    }
  }
}

export function withFacts(chain: readonly ChainLink[], facts: readonly ChainFact[]): ChainLink[] {
  return facts.reduce<ChainLink[]>((current, fact) => withFact(current, fact), [...chain])
}

/** Whether this exact step is already in the chain, and who made it. */
export function madeBy(chain: readonly ChainLink[], fact: ChainFact): ChainActor | undefined {
  const link = linkOf(chain, fact.uid)
  if (!link) return undefined
  switch (fact.kind) {
    case 'booked':
      return link.from === null && link.version > 0 ? link.by : undefined
    case 'moved':
      return link.from === fact.from ? link.by : undefined
    case 'cancelled':
      return link.cancelled?.by
  }
}
