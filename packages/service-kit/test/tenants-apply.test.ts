// What applying a tenants file does to each registry record (apply-decision.ts), and a property:
// however the reads and writes of an old and a new deployment's applies interleave, no tenant of the
// newest generation is lost, no write lowers a record's generation, and nothing stays in clear.
import type { TenantRecord } from '@calsync/contracts'
import {
  type ApplyAction,
  applyTenantsTo,
  decideApply,
  decodeTenant,
  encodeTenant,
  type RevisionedStore,
  type StoredState,
} from '@calsync/service-kit'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { testRegistryKey as key } from '../../../test/support/tenants.ts'

const record = (generation: number, extra: { removed?: boolean; sameAsFile?: boolean } = {}): StoredState => ({
  kind: 'record',
  generation,
  removed: extra.removed ?? false,
  sameAsFile: extra.sameAsFile ?? false,
})

describe('decideApply', () => {
  const G = 2
  const cases: [string, StoredState, boolean, number, ApplyAction][] = [
    ['absent, in the file', { kind: 'absent' }, true, G, 'create'],
    ['absent, not in the file', { kind: 'absent' }, false, G, 'keep'],
    ['clear text of an earlier version, in the file', { kind: 'legacy' }, true, G, 'write'],
    ['clear text, not in a file of generation > 0', { kind: 'legacy' }, false, G, 'remove'],
    ['clear text, not in a file of generation 0', { kind: 'legacy' }, false, 0, 'seal'],
    ['not understood, in the file', { kind: 'unreadable' }, true, G, 'write'],
    ['not understood, not in the file', { kind: 'unreadable' }, false, G, 'keep'],
    ['newer generation, in the file', record(3), true, G, 'keep'],
    ['newer generation, not in the file', record(3), false, G, 'keep'],
    ['newer generation removed it, in the file', record(3, { removed: true }), true, G, 'keep'],
    ['same generation, same content', record(G, { sameAsFile: true }), true, G, 'keep'],
    ['same generation, other content', record(G), true, G, 'write'],
    ['same generation removed it, in the file', record(G, { removed: true }), true, G, 'write'],
    ['same generation, not in the file', record(G), false, G, 'keep'],
    ['older generation, same content', record(1, { sameAsFile: true }), true, G, 'write'],
    ['older generation, other content', record(1), true, G, 'write'],
    ['older generation removed it, in the file', record(1, { removed: true }), true, G, 'write'],
    ['older generation, not in the file', record(1), false, G, 'remove'],
    ['older generation removed it, not in the file', record(1, { removed: true }), false, G, 'keep'],
  ]
  it.each(cases)('%s → %s', (_name, stored, inFile, generation, action) => {
    expect(decideApply(stored, inFile, generation)).toBe(action)
  })
})

const IDS = ['a', 'b', 'c', 'd'] as const

function tenantOf(id: string, variant: number): TenantRecord {
  return {
    id,
    name: `${id} v${variant}`,
    calcom: {
      apiKey: `cal_${id}_${variant}`,
      webhookSecret: `whsec_${id}_${variant}`,
      eventTypes: [{ id: 100 + IDS.indexOf(id as (typeof IDS)[number]), resource: id, lengthMinutes: 30 }],
    },
    tokens: [{ sha256: variant.toString(16).padStart(2, '0').repeat(32), origin: 'api' }],
  }
}

type Initial = { id: string; kind: 'legacy' | 'sealed' | 'removed'; generation: number; variant: number }

/** A bucket in memory, with JetStream KV's rule for writes: they name the revision they replace. */
function memoryStore(initial: Initial[], onWrite: (key: string, before: string | undefined, after: string) => void) {
  const values = new Map<string, { value: string | undefined; revision: number }>()
  let sequence = 0
  for (const entry of initial) {
    const tenant = tenantOf(entry.id, entry.variant)
    const value =
      entry.kind === 'legacy'
        ? JSON.stringify(tenant)
        : entry.kind === 'removed'
          ? JSON.stringify({ format: 2, id: entry.id, generation: entry.generation, removed: true })
          : encodeTenant(tenant, entry.generation, key)
    values.set(entry.id, { value, revision: ++sequence })
  }
  const store: RevisionedStore = {
    read: async (id) => values.get(id) ?? { value: undefined, revision: 0 },
    async write(id, value, expectedRevision) {
      const current = values.get(id)
      if ((current?.revision ?? 0) !== expectedRevision) return false
      onWrite(id, current?.value, value)
      values.set(id, { value, revision: ++sequence })
      return true
    },
    keys: async () => [...values].filter(([, entry]) => entry.value !== undefined).map(([id]) => id),
  }
  return { store, values }
}

/** Every store call waits for the scheduler first, so fast-check decides the order in which they take effect. */
function scheduled(s: fc.Scheduler, store: RevisionedStore): RevisionedStore {
  const turn = (label: string) => s.schedule(Promise.resolve(), label)
  return {
    read: (id) => turn(`read ${id}`).then(() => store.read(id)),
    write: (id, value, revision) => turn(`write ${id}`).then(() => store.write(id, value, revision)),
    keys: () => turn('keys').then(() => store.keys()),
  }
}

const generationOf = (value: string | undefined) => {
  if (value === undefined) return -1
  const stored = decodeTenant(JSON.parse(value).id, value, key)
  return stored.kind === 'legacy' || stored.kind === 'invalid' ? 0 : stored.generation
}

describe('applies of two generations at once', () => {
  const file = fc.uniqueArray(fc.record({ id: fc.constantFrom(...IDS), variant: fc.integer({ min: 0, max: 2 }) }), {
    minLength: 1,
    maxLength: IDS.length,
    selector: (entry) => entry.id,
  })
  const initial = fc.uniqueArray(
    fc.record({
      id: fc.constantFrom(...IDS),
      kind: fc.constantFrom('legacy' as const, 'sealed' as const, 'removed' as const),
      generation: fc.integer({ min: 0, max: 1 }),
      variant: fc.integer({ min: 0, max: 2 }),
    }),
    { maxLength: IDS.length, selector: (entry) => entry.id },
  )

  it('never lose a tenant of the newest generation, never lower a generation, and leave nothing in clear', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), initial, file, file, async (s, before, oldFile, newFile) => {
        const lowered: string[] = []
        const { store, values } = memoryStore(before, (id, previous, next) => {
          if (generationOf(next) < generationOf(previous)) lowered.push(id)
        })
        const shared = scheduled(s, store)
        const oldTenants = oldFile.map((entry) => tenantOf(entry.id, entry.variant))
        const newTenants = newFile.map((entry) => tenantOf(entry.id, entry.variant + 10))
        // The old instance, the new one, and the old one again after a restart, all at once.
        const applies = Promise.all([
          applyTenantsTo(shared, key, oldTenants, 1),
          applyTenantsTo(shared, key, newTenants, 2),
          applyTenantsTo(shared, key, oldTenants, 1),
        ])
        await s.waitFor(applies)

        expect(lowered).toEqual([])
        for (const tenant of newTenants) {
          const stored = decodeTenant(tenant.id, values.get(tenant.id)?.value ?? 'null', key)
          expect(stored).toMatchObject({ kind: 'tenant', generation: 2, tenant })
        }
        for (const [id, entry] of values) {
          if (entry.value !== undefined) expect(decodeTenant(id, entry.value, key).kind).not.toBe('legacy')
        }
      }),
    )
  })
})
