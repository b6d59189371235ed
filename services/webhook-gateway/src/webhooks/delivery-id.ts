import { createHash } from 'node:crypto'

/**
 * Cal.com sends no delivery id, but a retry repeats the exact signed bytes: hashing them (with
 * the tenant, whose secret signed them) gives an id that is the same for every re-delivery.
 */
export function deliveryIdOf(tenantId: string, rawBody: Uint8Array): string {
  return createHash('sha256').update(`${tenantId}\n`).update(rawBody).digest('hex')
}
