import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createSchemaCheck, formatIssues, type TenantRecord, TenantsFile } from '@calsync/contracts'
import { parse as parseYaml } from 'yaml'

type Env = Record<string, string | undefined>

export class TenantsFileError extends Error {
  override name = 'TenantsFileError'
  readonly code = 'invalid_tenants_file'
}

const checkTenantsFile = createSchemaCheck(TenantsFile)
const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g
const SHA256_TOKEN = /^sha256:([0-9a-f]{64})$/

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** Replaces `${VAR}` in every string; an unset variable is an error naming the field and the variable. */
function expandVariables(value: unknown, env: Env, path: string, source: string): unknown {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (_match, name: string) => {
      const resolved = env[name]
      if (resolved === undefined || resolved === '') {
        throw new TenantsFileError(`${source}: ${path}: environment variable ${name} is not set`)
      }
      return resolved
    })
  }
  if (Array.isArray(value)) return value.map((item, index) => expandVariables(item, env, `${path}[${index}]`, source))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        expandVariables(item, env, path ? `${path}.${key}` : key, source),
      ]),
    )
  }
  return value
}

/** A tenants file's tenants and the deployment generation it belongs to (0 when not given). */
export interface TenantsDocument {
  generation: number
  tenants: TenantRecord[]
}

/** Parses and validates a tenants file (YAML or JSON); tokens leave as SHA-256 digests only. */
export function parseTenantsFile(text: string, env: Env, source = 'tenants file'): TenantRecord[] {
  return parseTenantsDocument(text, env, source).tenants
}

export function parseTenantsDocument(text: string, env: Env, source = 'tenants file'): TenantsDocument {
  let document: unknown
  try {
    document = parseYaml(text)
  } catch (error) {
    throw new TenantsFileError(`${source}: not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`)
  }
  const expanded = expandVariables(document, env, '', source)
  const result = checkTenantsFile.check(expanded)
  if (!result.ok) throw new TenantsFileError(`${source}: ${formatIssues(result.issues)}`)

  const tenantIds = new Set<string>()
  const eventTypeOwners = new Map<number, string>()
  const tokenOwners = new Map<string, string>()
  const tenants = result.value.tenants.map((tenant, index) => {
    const at = `tenants[${index}]`
    if (tenantIds.has(tenant.id)) throw new TenantsFileError(`${source}: ${at}.id: duplicate tenant id "${tenant.id}"`)
    tenantIds.add(tenant.id)
    tenant.calcom.eventTypes.forEach((eventType, eventIndex) => {
      const owner = eventTypeOwners.get(eventType.id)
      if (owner !== undefined) {
        throw new TenantsFileError(
          `${source}: ${at}.calcom.eventTypes[${eventIndex}].id: event type ${eventType.id} already belongs to tenant "${owner}"`,
        )
      }
      eventTypeOwners.set(eventType.id, tenant.id)
    })
    const tokens = tenant.tokens.map((entry, tokenIndex) => {
      const digest = SHA256_TOKEN.exec(entry.token)?.[1] ?? sha256Hex(entry.token)
      const owner = tokenOwners.get(digest)
      if (owner !== undefined) {
        throw new TenantsFileError(
          `${source}: ${at}.tokens[${tokenIndex}].token: the same token is already used by tenant "${owner}"`,
        )
      }
      tokenOwners.set(digest, tenant.id)
      return { sha256: digest, origin: entry.origin }
    })
    return { id: tenant.id, name: tenant.name, calcom: tenant.calcom, tokens }
  })
  return { generation: result.value.generation ?? 0, tenants }
}

export async function loadTenantsFile(path: string, env: Env): Promise<TenantRecord[]> {
  return (await loadTenantsDocument(path, env)).tenants
}

export async function loadTenantsDocument(path: string, env: Env): Promise<TenantsDocument> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new TenantsFileError(`cannot read tenants file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  return parseTenantsDocument(text, env, path)
}
