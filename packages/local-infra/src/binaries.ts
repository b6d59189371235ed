import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repositoryBin = fileURLToPath(new URL('../../../.tools/bin', import.meta.url))

/** Finds a provisioned binary: `CALSYNC_TOOLS_BIN`, then the repository's `.tools/bin`, then PATH. */
export function findBinary(name: string): string | undefined {
  for (const dir of [process.env.CALSYNC_TOOLS_BIN, repositoryBin]) {
    if (dir && existsSync(join(dir, name))) return join(dir, name)
  }
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

export function binaryVersion(binary: string): string {
  return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim()
}
