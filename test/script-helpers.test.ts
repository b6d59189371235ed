import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256Hex } from '@calsync/service-kit'
import { afterAll, describe, expect, it } from 'vitest'
import { pickFreeSlots, searchStart } from '../scripts/demo/free-slots.ts'
import { loadTenantsWithTokens } from '../scripts/lib/tenants-with-tokens.ts'
import { chooseLogFormat, createLogLines } from '../scripts/stack/log-lines.ts'
import { exampleSlot, readySummary } from '../scripts/stack/ready-summary.ts'

const dir = mkdtempSync(join(tmpdir(), 'calsync-scripts-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const TENANTS = `
tenants:
  - id: acme-dental
    name: Acme Dental
    calcom:
      apiKey: cal_test_key_for_script_tests
      webhookSecret: whsec-for-script-tests
      eventTypes: [{ id: 1001, resource: dr-jones, lengthMinutes: 30 }]
    tokens:
      - token: \${PHONE_TOKEN}
        origin: retell
      - token: "plain-admin-token-0001"
        origin: admin
      - token: sha256:${sha256Hex('only-a-digest-token-0001')}
        origin: api
`

describe('tenants with tokens in clear', () => {
  it('finds each token, expanded from the environment, and leaves digest-only tokens unknown', async () => {
    const path = join(dir, 'tenants.yaml')
    writeFileSync(path, TENANTS)
    const [tenant] = await loadTenantsWithTokens(path, { PHONE_TOKEN: 'phone-token-from-env-0001' })
    expect(tenant?.tokens).toEqual([
      { origin: 'retell', token: 'phone-token-from-env-0001' },
      { origin: 'admin', token: 'plain-admin-token-0001' },
      { origin: 'api', token: undefined },
    ])
    await expect(loadTenantsWithTokens(path, {})).rejects.toThrow(/PHONE_TOKEN is not set/)
  })
})

describe('the log stream of npm start', () => {
  const pinoLine = JSON.stringify({
    level: 30,
    time: '2026-11-30T01:50:57.386Z',
    service: 'appointments',
    name: 'appointments',
    reqId: 'req-1',
    traceId: 'cb9e6db7f6478d12ee6acfa70674863c',
    res: { statusCode: 200 },
    responseTime: 35.81,
    msg: 'request completed',
  })

  it('is pretty on a terminal and JSON elsewhere, unless CALSYNC_LOG_FORMAT says otherwise', () => {
    expect(chooseLogFormat(undefined, true)).toBe('pretty')
    expect(chooseLogFormat(undefined, false)).toBe('json')
    expect(chooseLogFormat('json', true)).toBe('json')
    expect(() => chooseLogFormat('yaml', true)).toThrow(/pretty or json/)
  })

  it('shows level, service, message and key fields, colourless without a terminal', () => {
    const lines = createLogLines({ format: 'pretty', color: false })
    const text = lines.fromChild('appointments', pinoLine, 'stdout')
    expect(text).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}appointments {4}request completed {2}→ 200 \(35\.8 ms\) {2}trace=cb9e6db7f6478d12ee6acfa70674863c\n$/,
    )
    expect(text).not.toContain('\u001b[')
    expect(lines.fromChild('review', 'TypeError: boom', 'stderr')).toMatch(/ ERR {3}review {10}TypeError: boom\n$/)
    const coloured = createLogLines({ format: 'pretty', color: true }).fromChild('appointments', pinoLine, 'stdout')
    expect(coloured).toContain('\u001b[32mINFO')
  })

  it('passes pino lines through as JSON and wraps anything else with its service', () => {
    const lines = createLogLines({ format: 'json', color: false })
    expect(JSON.parse(lines.fromChild('appointments', pinoLine, 'stdout'))).toEqual(JSON.parse(pinoLine))
    expect(JSON.parse(lines.fromChild('review', 'node: bad option', 'stderr'))).toMatchObject({
      level: 50,
      service: 'review',
      stream: 'stderr',
      msg: 'node: bad option',
    })
    expect(JSON.parse(lines.fromRunner('info', 'stopped'))).toMatchObject({
      level: 30,
      service: 'calsync',
      msg: 'stopped',
    })
  })
})

describe('the ready summary of npm start', () => {
  const input = {
    tenants: [
      {
        id: 'acme-dental',
        name: 'Acme Dental',
        calcom: {
          apiKey: 'cal_test_key_for_script_tests',
          webhookSecret: 'whsec-for-script-tests',
          eventTypes: [{ id: 1001, resource: 'dr-jones', lengthMinutes: 30 }],
        },
        tokens: [{ origin: 'retell', token: 'phone-token-0001' }],
      },
    ],
    ports: { gateway: 8080, appointments: 8081, sync: 8082, review: 8083, sandbox: 8090 },
    tenantsFile: 'config/demo-tenants.yaml',
    demoAdminToken: 'calsync-demo-admin-token',
    now: new Date('2026-11-30T23:30:00Z'),
  }

  it('names each tenant webhook URL and shows a curl with the demo token for a future slot', () => {
    const summary = readySummary({ ...input, demoTokens: true })
    expect(summary.text).toContain('acme-dental  http://localhost:8080/webhooks/calcom/acme-dental')
    expect(summary.text).toContain("-H 'Authorization: Bearer phone-token-0001'")
    expect(summary.text).toContain('(admin token: calsync-demo-admin-token)')
    expect(exampleSlot(input.now)).toBe('2026-12-02T10:00:00Z')
    expect(summary.records).toContainEqual({
      msg: 'Cal.com webhook URL',
      tenant: 'acme-dental',
      url: 'http://localhost:8080/webhooks/calcom/acme-dental',
    })
  })

  it('never prints the tokens of a tenants file other than the demo one', () => {
    const summary = readySummary({ ...input, demoTokens: false, demoAdminToken: undefined })
    expect(summary.text).not.toContain('phone-token-0001')
    expect(summary.text).toContain('Bearer $TOKEN')
    expect(JSON.stringify(summary.records)).not.toContain('phone-token-0001')
    expect(summary.text).not.toContain('calsync-demo-admin-token')
  })
})

describe('free slots of a demo run', () => {
  const from = Date.parse('2026-12-07T09:00:00Z')
  const minutes = (count: number) => count * 60_000

  it('skips every slot that overlaps a booking and keeps to the grid', () => {
    const busy = [
      { start: from, end: from + minutes(30) },
      { start: from + minutes(40), end: from + minutes(50) },
    ]
    expect(pickFreeSlots(busy, from, 3, minutes(30)).map((slot) => (slot - from) / 60_000)).toEqual([60, 90, 120])
  })

  it('starts a week ahead on a whole hour', () => {
    expect(new Date(searchStart(new Date('2026-11-30T01:53:05Z'))).toISOString()).toBe('2026-12-07T02:00:00.000Z')
  })
})
