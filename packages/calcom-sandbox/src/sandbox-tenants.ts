import type { SandboxTenant } from './sandbox-store.ts'

interface TenantLike {
  id: string
  calcom: {
    apiKey: string
    webhookSecret: string
    eventTypes: Array<{ id: number; resource: string; lengthMinutes: number }>
  }
}

/** Sandbox tenants from calsync tenant records; `{tenantId}` in the URL template is filled in. */
export function sandboxTenantsFrom(records: TenantLike[], webhookUrlTemplate?: string): SandboxTenant[] {
  return records.map((record) => ({
    id: record.id,
    apiKey: record.calcom.apiKey,
    webhookSecret: record.calcom.webhookSecret,
    eventTypes: record.calcom.eventTypes,
    webhookUrl: webhookUrlTemplate?.replaceAll('{tenantId}', record.id),
  }))
}
