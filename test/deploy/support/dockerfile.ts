// A small Dockerfile reader for the deploy checks: instructions with their flags, grouped by
// build stage. Enough for this repository's Dockerfile, strict where it is not (heredocs).

export interface Instruction {
  keyword: string
  /** `--name=value` flags before the arguments (`--from=deps`, `--chown=node`). */
  flags: Record<string, string>
  /** The arguments: the JSON array's items for the exec form, else whitespace-separated words. */
  args: string[]
  /** The arguments as written, after the flags. */
  text: string
  line: number
}

export interface Stage {
  /** The FROM image and its `AS` name. */
  image: string
  name: string | undefined
  instructions: Instruction[]
}

function splitFlags(words: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {}
  let rest = words
  for (;;) {
    const flag = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)
    if (!flag) return { flags, rest }
    flags[flag[1] as string] = flag[2] ?? 'true'
    rest = rest.slice(flag[0].length)
  }
}

function parseArgs(text: string): string[] {
  if (text.startsWith('[')) {
    const parsed: unknown = JSON.parse(text)
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
      throw new Error(`not an exec-form array: ${text}`)
    }
    return parsed
  }
  return text.split(/\s+/).filter(Boolean)
}

/** Joins continuation lines, skipping comments and blank lines between them, as Docker does. */
function logicalLines(text: string): Array<{ text: string; line: number }> {
  const lines: Array<{ text: string; line: number }> = []
  let current: { text: string; line: number } | undefined
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim()
    if (trimmed === '' || trimmed.startsWith('#')) return
    const continues = trimmed.endsWith('\\')
    const body = continues ? trimmed.slice(0, -1).trim() : trimmed
    current = current ? { text: `${current.text} ${body}`, line: current.line } : { text: body, line: index + 1 }
    if (!continues) {
      lines.push(current)
      current = undefined
    }
  })
  if (current) throw new Error(`line ${current.line}: the last instruction ends with a line continuation`)
  return lines
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = []
  for (const { text: line, line: number } of logicalLines(text)) {
    const match = /^([A-Za-z]+)\s+(.*)$/.exec(line)
    if (!match) throw new Error(`line ${number}: cannot read "${line}"`)
    const keyword = (match[1] as string).toUpperCase()
    if (/<<-?\w/.test(line)) throw new Error(`line ${number}: heredocs are not supported by this reader`)
    const { flags, rest } = splitFlags(match[2] as string)
    // HEALTHCHECK CMD takes a command of its own, in exec or shell form.
    const healthcheckCommand = keyword === 'HEALTHCHECK' && /^CMD\s/.test(rest)
    const args = healthcheckCommand ? ['CMD', ...parseArgs(rest.slice(3).trim())] : parseArgs(rest)
    const instruction: Instruction = { keyword, flags, args, text: rest, line: number }
    if (keyword === 'FROM') {
      const [image, as, name] = instruction.args
      if (!image || (as !== undefined && (as.toUpperCase() !== 'AS' || !name))) {
        throw new Error(`line ${number}: expected FROM <image> [AS <name>]`)
      }
      stages.push({ image, name, instructions: [] })
      continue
    }
    const stage = stages.at(-1)
    if (!stage) throw new Error(`line ${number}: ${keyword} before the first FROM`)
    stage.instructions.push(instruction)
  }
  return stages
}
