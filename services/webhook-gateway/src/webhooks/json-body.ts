import secureJson from 'secure-json-parse'

export type JsonBody = { ok: true; value: unknown } | { ok: false }

/**
 * Parses the raw body once its signature is checked. Like Fastify's own JSON parser (the same
 * library) it refuses `__proto__` keys, which downstream object merges could turn into prototype
 * pollution; it scans the text for them first and walks the object only when one may be there.
 */
export function parseJsonBody(raw: Uint8Array): JsonBody {
  try {
    const value: unknown = secureJson.parse(
      Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'),
      undefined,
      {
        protoAction: 'error',
        constructorAction: 'ignore',
      },
    )
    return { ok: true, value }
  } catch {
    return { ok: false }
  }
}
