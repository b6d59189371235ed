import { Writable } from 'node:stream'
import { createLogger, REDACTED } from '@calsync/service-kit'
import { describe, expect, it } from 'vitest'

function capture() {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { lines, destination }
}

describe('logger redaction', () => {
  it('keeps API keys, webhook secrets, tokens and authorization headers out of every line', () => {
    const { lines, destination } = capture()
    const logger = createLogger({ name: 'test', level: 'info', destination })
    const apiKey = 'cal_live_very_secret_key_123'
    const webhookSecret = 'whsec-do-not-print'
    const bearer = 'Bearer acme-phone-token-xyz'
    logger.info(
      {
        tenant: { id: 'acme', calcom: { apiKey, webhookSecret, eventTypes: [{ id: 1 }] } },
        req: { method: 'POST', url: '/x', headers: { authorization: bearer } },
        headers: { Authorization: bearer, 'x-cal-signature-256': 'abc' },
        tokens: [{ token: 'acme-phone-token-xyz' }],
      },
      'tenant loaded',
    )
    logger.child({ webhookSecret }).warn({ nested: { deeper: { api_key: apiKey } } }, 'child line')
    const output = lines.join('')
    for (const secret of [apiKey, webhookSecret, bearer, 'acme-phone-token-xyz']) {
      expect(output).not.toContain(secret)
    }
    expect(output).toContain(REDACTED)
    expect(output).toContain('"id":"acme"')
    expect(lines).toHaveLength(2)
  })
})
