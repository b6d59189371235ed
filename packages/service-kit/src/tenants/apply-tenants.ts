import type { TenantRecord } from '@calsync/contracts'
import { type ApplyAction, decideApply, type StoredState } from './apply-decision.ts'
import type { RegistryKey } from './registry-key.ts'
import { decodeTenant, encodeRemoval, encodeTenant, type StoredTenant, sameTenant } from './stored-tenant.ts'

/** A key-value store whose writes name the revision they replace (a JetStream KV bucket, or a model of one). */
export interface RevisionedStore {
  /** The current value, undefined when absent or deleted; revision 0 when the key was never written. */
  read(key: string): Promise<{ value: string | undefined; revision: number }>
  /** Writes only if the key is still at `expectedRevision`; false when another writer came first. */
  write(key: string, value: string, expectedRevision: number): Promise<boolean>
  keys(): Promise<string[]>
}

export interface ApplySummary {
  created: string[]
  written: string[]
  removed: string[]
  /** Left alone because a newer generation wrote them. */
  newer: string[]
}

/** Each key is re-read and re-decided after a lost race; this many losses in a row is an error. */
const MAX_ATTEMPTS = 20

export class TenantsApplyConflictError extends Error {
  override name = 'TenantsApplyConflictError'
  readonly code = 'tenants_apply_conflict'
}

function stateOf(stored: StoredTenant | undefined, wanted: TenantRecord | undefined): StoredState {
  if (stored === undefined) return { kind: 'absent' }
  switch (stored.kind) {
    case 'legacy':
      return { kind: 'legacy' }
    case 'invalid':
      return { kind: 'unreadable' }
    case 'removed':
      return { kind: 'record', generation: stored.generation, removed: true, sameAsFile: false }
    case 'foreign':
      return { kind: 'record', generation: stored.generation, removed: false, sameAsFile: false }
    case 'tenant':
      return {
        kind: 'record',
        generation: stored.generation,
        removed: false,
        sameAsFile: wanted !== undefined && sameTenant(stored.tenant, wanted),
      }
  }
}

function valueFor(
  action: ApplyAction,
  id: string,
  stored: StoredTenant | undefined,
  wanted: TenantRecord | undefined,
  generation: number,
  key: RegistryKey,
): string | undefined {
  switch (action) {
    case 'create':
    case 'write':
      return wanted && encodeTenant(wanted, generation, key)
    case 'seal':
      return stored?.kind === 'legacy' ? encodeTenant(stored.tenant, 0, key) : undefined
    case 'remove':
      return encodeRemoval(id, generation)
    case 'keep':
      return undefined
  }
}

/**
 * Applies a tenants file of one generation: every key is read, decided by `decideApply` and written
 * with the revision it was read at, so two instances applying at once never lose each other's write.
 */
export async function applyTenantsTo(
  store: RevisionedStore,
  key: RegistryKey,
  tenants: TenantRecord[],
  generation: number,
): Promise<ApplySummary> {
  const wanted = new Map(tenants.map((tenant) => [tenant.id, tenant]))
  const summary: ApplySummary = { created: [], written: [], removed: [], newer: [] }
  const ids = new Set([...wanted.keys(), ...(await store.keys())])
  for (const id of ids) {
    const tenant = wanted.get(id)
    for (let attempt = 1; ; attempt++) {
      const current = await store.read(id)
      const stored = current.value === undefined ? undefined : decodeTenant(id, current.value, key)
      const state = stateOf(stored, tenant)
      const action = decideApply(state, tenant !== undefined, generation)
      const value = valueFor(action, id, stored, tenant, generation, key)
      if (value === undefined) {
        if (state.kind === 'record' && state.generation > generation) summary.newer.push(id)
        break
      }
      if (await store.write(id, value, current.revision)) {
        if (action === 'create') summary.created.push(id)
        else if (action === 'remove') summary.removed.push(id)
        else summary.written.push(id)
        break
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new TenantsApplyConflictError(`tenant "${id}": ${MAX_ATTEMPTS} writes in a row lost to other instances`)
      }
    }
  }
  return summary
}
