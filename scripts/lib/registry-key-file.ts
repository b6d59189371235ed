// The registry key of a local stack (`npm start`): CALSYNC_REGISTRY_KEY when given, else the one
// kept in the stack's data dir beside NATS's data, made on the first start. The key must outlive a
// restart as long as the registry bucket it sealed does, and every service must get the same one.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateRegistryKey, parseRegistryKey } from '@calsync/service-kit'

export const REGISTRY_KEY_FILE = 'registry-key'

export interface StackRegistryKey {
  key: string
  /** Where it came from, for the start-up line (never the key itself). */
  source: 'environment' | 'data dir' | 'new'
  kid: string
}

export function stackRegistryKey(dataDir: string, env: Record<string, string | undefined>): StackRegistryKey {
  const given = env.CALSYNC_REGISTRY_KEY?.trim()
  if (given) return { key: given, source: 'environment', kid: parseRegistryKey(given).kid }
  const path = join(dataDir, REGISTRY_KEY_FILE)
  if (existsSync(path)) {
    const kept = readFileSync(path, 'utf8').trim()
    return { key: kept, source: 'data dir', kid: parseRegistryKey(kept, path).kid }
  }
  const key = generateRegistryKey()
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(path, `${key}\n`, { mode: 0o600, flag: 'wx' })
  chmodSync(path, 0o600)
  return { key, source: 'new', kid: parseRegistryKey(key).kid }
}
