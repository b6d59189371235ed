import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { verifyCalcomSignature } from '../src/webhooks/signature.ts'

const secret = 'unit-test-secret'
const body = '{"triggerEvent":"BOOKING_CREATED","createdAt":"2031-03-03T09:00:00.000Z","payload":{}}'
const raw = Buffer.from(body, 'utf8')
const signed = createHmac('sha256', secret).update(body).digest('hex')

describe('verifyCalcomSignature', () => {
  it('accepts the lower-case hex HMAC-SHA256 of the exact bytes', () => {
    expect(verifyCalcomSignature(raw, signed, secret)).toEqual({ ok: true })
  })

  it("treats an absent header and Cal.com's no-secret marker as missing", () => {
    for (const header of [undefined, '', 'no-secret-provided']) {
      expect(verifyCalcomSignature(raw, header, secret)).toEqual({ ok: false, code: 'missing_signature' })
    }
  })

  it('refuses another secret, other bytes, and malformed headers without throwing', () => {
    const other = createHmac('sha256', 'other-secret').update(body).digest('hex')
    const headers = [
      other,
      createHmac('sha256', secret).update(`${body}\n`).digest('hex'),
      signed.slice(0, 62),
      `${signed}00`,
      `sha256=${signed}`,
      'g'.repeat(64),
      ' '.repeat(64),
      [signed, signed],
    ]
    for (const header of headers) {
      expect(verifyCalcomSignature(raw, header, secret)).toEqual({ ok: false, code: 'invalid_signature' })
    }
  })

  it('refuses upper-case hex, which Cal.com never sends', () => {
    expect(verifyCalcomSignature(raw, signed.toUpperCase(), secret)).toEqual({ ok: false, code: 'invalid_signature' })
  })
})
