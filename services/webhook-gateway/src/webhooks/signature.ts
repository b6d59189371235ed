import { createHmac, timingSafeEqual } from 'node:crypto'
import { ERROR_CODES } from '@calsync/contracts'

export type SignatureCheck =
  | { ok: true }
  | { ok: false; code: typeof ERROR_CODES.missingSignature | typeof ERROR_CODES.invalidSignature }

/** What Cal.com sends when the subscription has no secret: nothing is signed (calcom/README.md §4.5). */
export const UNSIGNED_MARKER = 'no-secret-provided'

// Cal.com sends exactly 64 lower-case hex digits; anything else cannot be its signature.
const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/

/**
 * Checks `X-Cal-Signature-256`: lower-case hex HMAC-SHA256 of the exact raw body, keyed with the
 * tenant's webhook secret. Upper-case hex is refused, as Cal.com never sends it.
 */
export function verifyCalcomSignature(
  rawBody: Uint8Array,
  header: string | string[] | undefined,
  secret: string,
): SignatureCheck {
  if (header === undefined || header === '' || header === UNSIGNED_MARKER) {
    return { ok: false, code: ERROR_CODES.missingSignature }
  }
  if (typeof header !== 'string' || !SIGNATURE_PATTERN.test(header)) {
    return { ok: false, code: ERROR_CODES.invalidSignature }
  }
  const expected = createHmac('sha256', secret).update(rawBody).digest()
  const given = Buffer.from(header, 'hex')
  // Both are 32 bytes here, so timingSafeEqual cannot throw on a length mismatch.
  return timingSafeEqual(expected, given) ? { ok: true } : { ok: false, code: ERROR_CODES.invalidSignature }
}
