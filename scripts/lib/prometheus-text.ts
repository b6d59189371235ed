// Reads the Prometheus text format, for the demo and the tests that scrape `/metrics`.

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Scrape {
  samples: Sample[]
  /** `# TYPE` of each metric family. */
  types: Map<string, string>
  /** Sum of the samples of `name` whose labels include `labels`; undefined when none match. */
  value(name: string, labels?: Record<string, string>): number | undefined
}

const SAMPLE_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (text === 'NaN') return Number.NaN
  const value = Number(text)
  if (text === '' || Number.isNaN(value)) throw new Error(`bad sample value in: ${line}`)
  return value
}

/** Reads `{a="x",b="y\"z"}` starting at `at`; returns the labels and the index after `}`. */
function parseLabels(line: string, at: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {}
  let i = at + 1
  for (;;) {
    if (line[i] === '}') return { labels, end: i + 1 }
    const name = LABEL_NAME.exec(line.slice(i))?.[0]
    if (!name || line[i + name.length] !== '=' || line[i + name.length + 1] !== '"') {
      throw new Error(`bad label at ${i} in: ${line}`)
    }
    i += name.length + 2
    let value = ''
    for (;;) {
      const char = line[i]
      if (char === undefined) throw new Error(`unterminated label value in: ${line}`)
      if (char === '"') break
      if (char === '\\') {
        const next = line[i + 1]
        value += next === 'n' ? '\n' : (next ?? '')
        i += 2
        continue
      }
      value += char
      i++
    }
    labels[name] = value
    i++
    if (line[i] === ',') i++
  }
}

/** Parses the Prometheus text exposition format (0.0.4); throws on a line it cannot read. */
export function parsePrometheusText(text: string): Scrape {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    const trimmed = line.trim()
    if (trimmed === '') continue
    if (trimmed.startsWith('#')) {
      const [, keyword, family, type] = trimmed.split(/\s+/)
      if (keyword === 'TYPE' && family && type) types.set(family, type)
      continue
    }
    const name = SAMPLE_NAME.exec(trimmed)?.[0]
    if (!name) throw new Error(`bad sample line: ${line}`)
    let rest = name.length
    let labels: Record<string, string> = {}
    if (trimmed[rest] === '{') {
      const parsed = parseLabels(trimmed, rest)
      labels = parsed.labels
      rest = parsed.end
    }
    const [valueText = ''] = trimmed.slice(rest).trim().split(/\s+/)
    samples.push({ name, labels, value: parseValue(valueText, line) })
  }
  return {
    samples,
    types,
    value(name, wanted = {}) {
      const matching = samples.filter(
        (sample) =>
          sample.name === name && Object.entries(wanted).every(([label, value]) => sample.labels[label] === value),
      )
      return matching.length === 0 ? undefined : matching.reduce((sum, sample) => sum + sample.value, 0)
    },
  }
}
