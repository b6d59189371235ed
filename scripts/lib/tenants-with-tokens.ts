// The tenants of a tenants file with their bearer tokens in clear, for scripts that call the APIs
// as a tenant would (`npm run demo`, the curl example of `npm start`).
import { readFile } from 'node:fs/promises'
import type { TenantRecord } from '@calsync/contracts'
import { loadTenantsFile, sha256Hex } from '@calsync/service-kit'
import { parse } from 'yaml'

export interface TenantToken {
  origin: string
  /** Undefined when the file holds only the token's `sha256:` digest. */
  token: string | undefined
}

export type TenantWithTokens = Omit<TenantRecord, 'tokens'> & { tokens: TenantToken[] }

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** Every `token:` string of the file as written, `${VAR}` expanded; validation is the loader's job. */
function writtenTokens(document: unknown, env: Record<string, string | undefined>): string[] {
  const tenants = (document as { tenants?: unknown })?.tenants
  if (!Array.isArray(tenants)) return []
  return tenants.flatMap((tenant) => {
    const tokens = (tenant as { tokens?: unknown })?.tokens
    if (!Array.isArray(tokens)) return []
    return tokens
      .map((entry) => (entry as { token?: unknown })?.token)
      .filter((token): token is string => typeof token === 'string')
      .map((token) => token.replace(VARIABLE, (_whole, name: string) => env[name] ?? ''))
  })
}

/**
 * Validates the file with the services' own loader, which keeps only SHA-256 digests of tokens,
 * then finds each token's clear text among the `token:` values written in the file.
 */
export async function loadTenantsWithTokens(
  path: string,
  env: Record<string, string | undefined>,
): Promise<TenantWithTokens[]> {
  const records = await loadTenantsFile(path, env)
  const byDigest = new Map<string, string>()
  for (const token of writtenTokens(parse(await readFile(path, 'utf8')), env)) {
    if (token !== '' && !token.startsWith('sha256:')) byDigest.set(sha256Hex(token), token)
  }
  return records.map((record) => ({
    ...record,
    tokens: record.tokens.map((entry) => ({ origin: entry.origin, token: byDigest.get(entry.sha256) })),
  }))
}
