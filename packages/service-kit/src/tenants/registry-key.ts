import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { ConfigError } from '../errors.ts'

/** The variable the services read the key from; also named in every error about it. */
export const REGISTRY_KEY_VARIABLE = 'CALSYNC_REGISTRY_KEY'

/** Version of the sealing scheme below (AES-256-GCM under an HKDF-derived key); a new scheme gets a new number. */
export const SEAL_VERSION = 1

/** A secret as the registry holds it: only holders of the key with this `kid` can open it. */
export interface Sealed {
  v: number
  kid: string
  iv: string
  tag: string
  data: string
}

/**
 * The services' own key for the shared tenant registry. Any NATS client of the deployment can
 * read the bucket, so the secrets in it are sealed and the token digests keyed with this key.
 */
export interface RegistryKey {
  /** Names the key without revealing it, so a record tells which key sealed it (rotation). */
  readonly kid: string
  seal(plaintext: string, context: string): Sealed
  /** The plaintext, or undefined when the record was sealed by another key or altered. */
  open(sealed: Sealed, context: string): string | undefined
  /** HMAC-SHA256 over a token's SHA-256 digest: the form tokens take in the registry. */
  tokenDigest(sha256Hex: string): string
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/
// Standard or URL-safe alphabet, padded or not: Node's base64 decoder reads both.
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/

/** A fresh key as `CALSYNC_REGISTRY_KEY` takes it, for scripts that start a stack of their own. */
export function generateRegistryKey(): string {
  return randomBytes(32).toString('base64')
}

function decodeKey(text: string): Buffer | undefined {
  if (HEX_KEY.test(text)) return Buffer.from(text, 'hex')
  if (BASE64_KEY.test(text)) {
    const bytes = Buffer.from(text, 'base64')
    return bytes.length === 32 ? bytes : undefined
  }
  return undefined
}

/** Separate keys per use, so the token digests reveal nothing about the encryption key and vice versa. */
function derive(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `calsync registry ${purpose}`, 32))
}

/**
 * Reads the key from its variable's text: 32 bytes as 64 hex digits or as base64. The error
 * names the variable and the expected form, never the value.
 */
export function parseRegistryKey(text: string | undefined, variable = REGISTRY_KEY_VARIABLE): RegistryKey {
  const trimmed = text?.trim() ?? ''
  if (trimmed === '') {
    throw new ConfigError(
      variable,
      'is required: 32 random bytes as base64 or hex (e.g. `openssl rand -base64 32`), the same for every calsync service of a deployment',
    )
  }
  const master = decodeKey(trimmed)
  if (!master) {
    throw new ConfigError(variable, 'must be 32 bytes given as 64 hex digits or as base64 (44 characters)')
  }
  const encryptionKey = derive(master, 'aes-256-gcm')
  const tokenKey = derive(master, 'token hmac')
  const kid = derive(master, 'key id').subarray(0, 6).toString('hex')
  return {
    kid,
    seal(plaintext, context) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv, { authTagLength: 16 })
      // The tenant id is bound in as associated data: a sealed value copied to another tenant does not open.
      cipher.setAAD(Buffer.from(`${SEAL_VERSION}:${kid}:${context}`))
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return {
        v: SEAL_VERSION,
        kid,
        iv: iv.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
        data: data.toString('base64'),
      }
    },
    open(sealed, context) {
      if (sealed.v !== SEAL_VERSION || sealed.kid !== kid) return undefined
      try {
        const decipher = createDecipheriv('aes-256-gcm', encryptionKey, Buffer.from(sealed.iv, 'base64'), {
          authTagLength: 16,
        })
        decipher.setAAD(Buffer.from(`${SEAL_VERSION}:${kid}:${context}`))
        decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'))
        return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8')
      } catch {
        return undefined
      }
    },
    tokenDigest: (sha256Hex) => createHmac('sha256', tokenKey).update(Buffer.from(sha256Hex, 'hex')).digest('hex'),
  }
}
