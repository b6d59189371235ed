// Compose variable interpolation over a parsed compose file, so the checks see what `docker
// compose` would run: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error},
// ${VAR:+other}, ${VAR+other}, $VAR and $$ (a literal $). Like Compose, only values are
// interpolated, not keys.

export interface Interpolation {
  value: unknown
  /** Every variable the file refers to. */
  variables: Set<string>
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/
const BRACED = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$/s

function substitute(name: string, operator: string | undefined, word: string, env: Record<string, string>): string {
  const value = env[name]
  const set = value !== undefined
  const nonEmpty = set && value !== ''
  switch (operator) {
    case undefined:
      return value ?? ''
    case ':-':
      return nonEmpty ? value : word
    case '-':
      return set ? value : word
    case ':?':
    case '?':
      if (operator === ':?' ? nonEmpty : set) return value as string
      throw new Error(`required variable ${name} is not set: ${word}`)
    case ':+':
      return nonEmpty ? word : ''
    case '+':
      return set ? word : ''
    default:
      throw new Error(`unknown interpolation operator ${operator}`)
  }
}

function interpolateString(text: string, env: Record<string, string>, variables: Set<string>): string {
  let result = ''
  let index = 0
  while (index < text.length) {
    const dollar = text.indexOf('$', index)
    if (dollar === -1) return result + text.slice(index)
    result += text.slice(index, dollar)
    const rest = text.slice(dollar + 1)
    if (rest.startsWith('$')) {
      result += '$'
      index = dollar + 2
    } else if (rest.startsWith('{')) {
      const close = rest.indexOf('}')
      const inner = close === -1 ? '' : rest.slice(1, close)
      const braced = BRACED.exec(inner)
      // Nested ${...} in a default is legal in Compose but not used here; refuse rather than misread.
      if (!braced || inner.includes('${')) throw new Error(`cannot interpolate "${text}"`)
      const [, name, operator, word = ''] = braced as unknown as [string, string, string | undefined, string?]
      variables.add(name)
      result += substitute(name, operator, word, env)
      index = dollar + close + 2
    } else {
      const bare = NAME.exec(rest)
      if (!bare) throw new Error(`a lone $ in "${text}": write $$ for a literal dollar`)
      variables.add(bare[0])
      result += env[bare[0]] ?? ''
      index = dollar + 1 + bare[0].length
    }
  }
  return result
}

export function interpolate(document: unknown, env: Record<string, string>): Interpolation {
  const variables = new Set<string>()
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return interpolateString(node, env, variables)
    if (Array.isArray(node)) return node.map(walk)
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value)]))
    }
    return node
  }
  return { value: walk(document), variables }
}
