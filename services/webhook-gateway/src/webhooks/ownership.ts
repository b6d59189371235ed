import type { TenantRegistry } from '@calsync/service-kit'

export type Ownership = { kind: 'own' } | { kind: 'foreign'; ownerTenantId: string } | { kind: 'unmapped' }

/** Whose event type a webhook names: the check that stops one tenant's secret writing another's data (I6). */
export function ownershipOf(tenants: TenantRegistry, tenantId: string, eventTypeId: number): Ownership {
  const owner = tenants.ownerOfEventType(eventTypeId)
  if (!owner) return { kind: 'unmapped' }
  return owner.id === tenantId ? { kind: 'own' } : { kind: 'foreign', ownerTenantId: owner.id }
}
