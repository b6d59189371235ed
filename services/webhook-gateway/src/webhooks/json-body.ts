export type JsonBody = { ok: true; value: unknown } | { ok: false }

/**
 * Parses the raw body once its signature is checked. Like Fastify's own JSON parser it refuses
 * `__proto__` keys, which downstream object merges could turn into prototype pollution.
 */
export function parseJsonBody(raw: Uint8Array): JsonBody {
  let poisoned = false
  try {
    const value: unknown = JSON.parse(Buffer.from(raw).toString('utf8'), (key, item: unknown) => {
      if (key === '__proto__') poisoned = true
      return item
    })
    return poisoned ? { ok: false } : { ok: true, value }
  } catch {
    return { ok: false }
  }
}
