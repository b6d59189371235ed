import Type from 'typebox'

/** The channel a change came from; `calcom` changes are never pushed back to Cal.com (I5). */
export const ORIGINS = ['calcom', 'retell', 'admin', 'api', 'system'] as const
export const Origin = Type.Enum(ORIGINS)
export type Origin = (typeof ORIGINS)[number]

/** Origins a bearer token may carry: Cal.com changes only arrive as verified webhooks. */
export const TOKEN_ORIGINS = ['retell', 'admin', 'api', 'system'] as const
export const TokenOrigin = Type.Enum(TOKEN_ORIGINS)
export type TokenOrigin = (typeof TOKEN_ORIGINS)[number]

export function isOrigin(value: unknown): value is Origin {
  return typeof value === 'string' && (ORIGINS as readonly string[]).includes(value)
}
