// `npm start`'s registry key: the same across restarts of one data dir, private to its owner, and
// CALSYNC_REGISTRY_KEY wins when given.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateRegistryKey, parseRegistryKey } from '@calsync/service-kit'
import { describe, expect, it } from 'vitest'
import { REGISTRY_KEY_FILE, stackRegistryKey } from '../scripts/lib/registry-key-file.ts'

describe('stackRegistryKey (npm start)', () => {
  it('makes a key on the first start, keeps it readable by its owner only, and reads it again on the next', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'calsync-key-')), 'data')
    const first = stackRegistryKey(dataDir, {})
    expect(first.source).toBe('new')
    expect(parseRegistryKey(first.key).kid).toBe(first.kid)
    const path = join(dataDir, REGISTRY_KEY_FILE)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(readFileSync(path, 'utf8').trim()).toBe(first.key)
    expect(stackRegistryKey(dataDir, {})).toEqual({ ...first, source: 'data dir' })
  })

  it('takes CALSYNC_REGISTRY_KEY when set, and writes nothing', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'calsync-key-'))
    const key = generateRegistryKey()
    expect(stackRegistryKey(dataDir, { CALSYNC_REGISTRY_KEY: key })).toEqual({
      key,
      source: 'environment',
      kid: parseRegistryKey(key).kid,
    })
    expect(() => statSync(join(dataDir, REGISTRY_KEY_FILE))).toThrow(/ENOENT/)
  })

  it('refuses a damaged key file, naming the file and not its content', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'calsync-key-'))
    writeFileSync(join(dataDir, REGISTRY_KEY_FILE), 'half-a-key\n')
    expect(() => stackRegistryKey(dataDir, {})).toThrow(
      `${join(dataDir, REGISTRY_KEY_FILE)}: must be 32 bytes given as 64 hex digits or as base64`,
    )
    expect(() => stackRegistryKey(dataDir, {})).not.toThrow(/half-a-key/)
  })
})
