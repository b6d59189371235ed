// Reads a dotenv file such as .env.example: `NAME=value` lines, plus names that are documented
// only in a comment (`# NAME=value`) because docker-compose.yml sets them itself.

export interface EnvFile {
  /** Active lines: what Compose would read from a copy of the file. */
  values: Record<string, string>
  /** Every name the file mentions, active or commented. */
  documented: Set<string>
}

const ACTIVE = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/
const COMMENTED = /^#\s*([A-Z_][A-Z0-9_]*)=/

export function parseEnvFile(text: string): EnvFile {
  const values: Record<string, string> = {}
  const documented = new Set<string>()
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim()
    if (line === '') return
    const commented = COMMENTED.exec(line)
    if (commented) {
      documented.add(commented[1] as string)
      return
    }
    if (line.startsWith('#')) return
    const active = ACTIVE.exec(line)
    // Kept strict: quotes and inline comments parse differently between dotenv readers.
    if (!active || /["'#]/.test(active[2] as string)) {
      throw new Error(`line ${index + 1}: expected NAME=value without quotes or comments, got "${line}"`)
    }
    const [, name, value] = active as unknown as [string, string, string]
    if (name in values) throw new Error(`line ${index + 1}: ${name} is set twice`)
    values[name] = value
    documented.add(name)
  })
  return { values, documented }
}
