import type { TenantRecord } from '@calsync/contracts'
import type { SandboxTenant } from './sandbox-store.ts'

/**
 * Sandbox tenants from calsync's tenant records (the same API keys, webhook secrets and event
 * types); `{tenantId}` in the URL template is replaced per tenant. No template, no webhooks.
 */
export function sandboxTenantsFrom(
  records: ReadonlyArray<Pick<TenantRecord, 'id' | 'calcom'>>,
  webhookUrlTemplate?: string,
): SandboxTenant[] {
  return records.map((record) => ({
    id: record.id,
    apiKey: record.calcom.apiKey,
    webhookSecret: record.calcom.webhookSecret,
    eventTypes: record.calcom.eventTypes.map((eventType) => ({ ...eventType })),
    webhookUrl: webhookUrlTemplate?.replaceAll('{tenantId}', encodeURIComponent(record.id)),
  }))
}
