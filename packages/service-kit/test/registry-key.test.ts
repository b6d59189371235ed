import { randomBytes } from 'node:crypto'
import { ConfigError, generateRegistryKey, parseRegistryKey } from '@calsync/service-kit'
import { describe, expect, it } from 'vitest'

function refusal(text: string | undefined): ConfigError {
  try {
    parseRegistryKey(text)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected the key to be refused')
}

describe('registry key (CALSYNC_REGISTRY_KEY)', () => {
  const bytes = randomBytes(32)

  it('takes 32 bytes as hex, base64 or base64url, and each form is the same key', () => {
    const forms = [
      bytes.toString('hex'),
      bytes.toString('base64'),
      bytes.toString('base64url'),
      bytes.toString('base64').replace(/=$/, ''),
    ]
    const keys = forms.map((form) => parseRegistryKey(` ${form}\n`))
    expect(new Set(keys.map((key) => key.kid)).size).toBe(1)
    expect(new Set(keys.map((key) => key.tokenDigest('ab'.repeat(32)))).size).toBe(1)
    const sealed = keys[0]?.seal('secret', 'acme') ?? expect.unreachable()
    expect(keys[2]?.open(sealed, 'acme')).toBe('secret')
    expect(parseRegistryKey(generateRegistryKey()).kid).toMatch(/^[0-9a-f]{12}$/)
  })

  it('names the variable when unset or malformed, and never echoes the value', () => {
    expect(refusal(undefined).message).toMatch(/^CALSYNC_REGISTRY_KEY: is required: 32 random bytes/)
    expect(refusal('  ').variable).toBe('CALSYNC_REGISTRY_KEY')
    for (const bad of [
      bytes.subarray(0, 16).toString('hex'),
      randomBytes(33).toString('base64'),
      `${bytes.toString('hex').slice(0, 63)}g`,
      'correct-horse-battery-staple-correct-horse!',
    ]) {
      const error = refusal(bad)
      expect(error.message).toBe(
        'CALSYNC_REGISTRY_KEY: must be 32 bytes given as 64 hex digits or as base64 (44 characters)',
      )
      expect(error.message).not.toContain(bad)
    }
  })

  it('seals so that only the same key opens, for the same tenant, unaltered', () => {
    const key = parseRegistryKey(bytes.toString('base64'))
    const other = parseRegistryKey(generateRegistryKey())
    const sealed = key.seal('cal_live_secret', 'acme')
    expect(JSON.stringify(sealed)).not.toContain('cal_live_secret')
    expect(sealed).toMatchObject({ v: 1, kid: key.kid })
    expect(key.seal('cal_live_secret', 'acme').data).not.toBe(sealed.data)
    expect(key.open(sealed, 'acme')).toBe('cal_live_secret')
    expect(key.open(sealed, 'bright')).toBeUndefined()
    expect(other.open({ ...sealed, kid: other.kid }, 'acme')).toBeUndefined()
    expect(key.open({ ...sealed, kid: other.kid }, 'acme')).toBeUndefined()
    const flipped = Buffer.from(sealed.data, 'base64')
    flipped[0] = (flipped[0] ?? 0) ^ 1
    expect(key.open({ ...sealed, data: flipped.toString('base64') }, 'acme')).toBeUndefined()
    expect(key.open({ ...sealed, tag: sealed.tag.slice(0, 8) }, 'acme')).toBeUndefined()
  })

  it('digests tokens with a key: another key gives another digest, and neither is the plain SHA-256', () => {
    const key = parseRegistryKey(bytes.toString('base64'))
    const sha256 = 'cd'.repeat(32)
    expect(key.tokenDigest(sha256)).toMatch(/^[0-9a-f]{64}$/)
    expect(key.tokenDigest(sha256)).not.toBe(parseRegistryKey(generateRegistryKey()).tokenDigest(sha256))
    expect(key.tokenDigest(sha256)).not.toBe(sha256)
  })
})
