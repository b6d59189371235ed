import type { Static, TSchema } from 'typebox'
import Compile, { type Validator } from 'typebox/compile'

export interface ValidationIssue {
  /** JSON pointer of the offending value, '' for the root. */
  path: string
  message: string
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] }

/** A compiled schema check that reports issues as values; used on both ends of every message. */
export interface SchemaCheck<T> {
  check(value: unknown): ValidationResult<T>
}

interface RawError {
  keyword: string
  instancePath: string
  message: string
  params: Record<string, unknown>
}

/** Turns validator errors into one readable issue per field: missing fields and enum choices named. */
function toIssues(errors: RawError[]): ValidationIssue[] {
  const issues: ValidationIssue[] = []
  const choices = new Map<string, unknown[]>()
  for (const error of errors) {
    if (error.keyword === 'const') {
      choices.set(error.instancePath, [...(choices.get(error.instancePath) ?? []), error.params.allowedValue])
    }
  }
  const seen = new Set<string>()
  for (const error of errors) {
    if (error.keyword === 'required') {
      for (const property of (error.params.requiredProperties as string[] | undefined) ?? []) {
        issues.push({ path: `${error.instancePath}/${property}`, message: 'is required' })
      }
      continue
    }
    if (error.keyword === 'const' || (error.keyword === 'anyOf' && choices.has(error.instancePath))) {
      if (seen.has(error.instancePath)) continue
      seen.add(error.instancePath)
      const allowed = (choices.get(error.instancePath) ?? []).map((value) => JSON.stringify(value)).join(', ')
      issues.push({ path: error.instancePath, message: `must be one of ${allowed}` })
      continue
    }
    if (error.keyword === 'enum' && Array.isArray(error.params.allowedValues)) {
      const allowed = error.params.allowedValues.map((value) => JSON.stringify(value)).join(', ')
      issues.push({ path: error.instancePath, message: `must be one of ${allowed}` })
      continue
    }
    issues.push({ path: error.instancePath, message: error.message })
  }
  return issues
}

export function createSchemaCheck<const S extends TSchema>(schema: S): SchemaCheck<Static<S>> {
  const validator: Validator = Compile(schema)
  return {
    check(value) {
      if (validator.Check(value)) return { ok: true, value: value as Static<S> }
      return { ok: false, issues: toIssues(validator.Errors(value) as unknown as RawError[]) }
    },
  }
}

/** `/tenants/0/calcom/apiKey` → `tenants[0].calcom.apiKey` */
export function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, token) => (/^\d+$/.test(token) ? `${path}[${token}]` : path ? `${path}.${token}` : token), '')
}

export function formatIssues(issues: ValidationIssue[], limit = 5): string {
  const shown = issues.slice(0, limit).map((issue) => `${pointerToPath(issue.path) || '(root)'} ${issue.message}`)
  const more = issues.length > limit ? ` (and ${issues.length - limit} more)` : ''
  return shown.join('; ') + more
}
