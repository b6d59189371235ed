import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ReviewHarness, startReviewHarness } from '../services/review/test/support/review-harness.ts'
import { runToEnd } from './support/run-to-end.ts'
import { type Stack, startStack } from './support/stack.ts'
import { futureSlot, TEST_SECRETS } from './support/tenants.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ARTIFACTS = join(ROOT, 'test-artifacts', 'schemathesis')
/** `npm test` provisions it and names it (scripts/run.mjs); by hand: `node scripts/provision.mjs schemathesis`. */
const SCHEMATHESIS = process.env.CALSYNC_SCHEMATHESIS ?? join(ROOT, '.tools', 'python', 'bin', 'st')

/**
 * Test cases per operation and phase. The run's cost, with the seed fixed: the same cases every
 * run (the stateful phase follows the ids the services answer, so it is the same up to them).
 */
const MAX_EXAMPLES = Number(process.env.CALSYNC_SCHEMATHESIS_EXAMPLES ?? 20)
const SEED = Number(process.env.CALSYNC_SCHEMATHESIS_SEED ?? 20261208)
const CHECKS = ['not_a_server_error', 'response_schema_conformance', 'status_code_conformance']

interface Run {
  name: string
  service: 'appointments' | 'review'
  token: string
}

/**
 * Each API with a tenant's token and with the most powerful token it takes: appointments takes
 * only tenant tokens (acme's phone token, origin retell, and acme's admin token, origin admin);
 * review takes a tenant's token and the operator's CALSYNC_ADMIN_TOKEN (every tenant). Review's
 * tenant is acme too: the appointments runs before it leave acme review items (double bookings)
 * whose ids the stateful phase then follows. In this order, one after the other.
 */
const RUNS: Run[] = [
  { name: 'appointments-tenant', service: 'appointments', token: TEST_SECRETS.ACME_PHONE_TOKEN },
  { name: 'appointments-admin', service: 'appointments', token: TEST_SECRETS.ACME_ADMIN_TOKEN },
  { name: 'review-tenant', service: 'review', token: TEST_SECRETS.ACME_ADMIN_TOKEN },
  { name: 'review-admin', service: 'review', token: TEST_SECRETS.CALSYNC_ADMIN_TOKEN },
]

/**
 * schemathesis.toml for the runs: values the documents cannot state (a tenant's event types, free
 * future slots, a stats window) drawn into part of the generated cases, so that creates and
 * reschedules get past the business rules and the stateful phase follows real ids.
 */
function configToml(): string {
  const slots = Array.from({ length: 60 }, (_, index) => futureSlot(200 + Math.floor(index / 6), 8 + (index % 6)))
  const list = (values: Array<string | number>) => `[${values.map((value) => JSON.stringify(value)).join(', ')}]`
  return [
    '[dictionaries]',
    `event-types = { values = ${list([1001, 1002])} }`,
    `slots = { values = ${list(slots)} }`,
    `windows = { values = ${list(['15m', '24h', '7d', '30d'])} }`,
    `zones = { values = ${list(['UTC', 'Europe/Berlin', 'America/New_York'])} }`,
    `emails = { values = ${list(['ines@example.org', 'lee@example.com'])} }`,
    '',
    '[parameters]',
    '"body.eventTypeId" = { dictionary = "event-types", probability = 0.7 }',
    '"body.start" = { dictionary = "slots", probability = 0.7 }',
    '"query.window" = { dictionary = "windows", probability = 0.7 }',
    '"body.attendee.timeZone" = { dictionary = "zones", probability = 0.7 }',
    '"body.attendee.email" = { dictionary = "emails", probability = 0.7 }',
    '',
  ].join('\n')
}

/** schemathesis's closing block: from its SUMMARY rule to the end. */
function summaryOf(output: string): string {
  const start = output.lastIndexOf('SUMMARY')
  if (start === -1) return output
  return output.slice(output.lastIndexOf('\n', start) + 1).trimEnd()
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

/**
 * schemathesis generates requests from each document (valid and invalid ones, then sequences
 * following the links between operations) and checks every answer: no 5xx, a status the document
 * lists, a body its schema accepts. The stack is whole, calcom-sync and the Cal.com sandbox
 * included: without calcom-sync, review's POST /v1/reconcile answers its documented 503, which
 * not_a_server_error would count.
 */
describe('schemathesis against the appointments and review documents', () => {
  let stack: Stack
  let review: ReviewHarness
  let work: string
  const urls: Record<Run['service'], string> = { appointments: '', review: '' }
  beforeAll(async () => {
    if (!existsSync(SCHEMATHESIS)) {
      throw new Error(
        `schemathesis is not provisioned at ${SCHEMATHESIS}: npm test installs it; ` +
          'by hand, run `node scripts/provision.mjs schemathesis` first',
      )
    }
    // Cal.com's budgets (the sandbox's and calcom-sync's own) far above what the runs spend: the
    // fuzzer's creates and resyncs once spent the suite's 1000 calls a minute, and a reconcile then
    // waited for the budget (as it should, up to CALSYNC_RECONCILE_TIMEOUT) beyond the request timeout.
    stack = await startStack({ sandboxRateLimit: 100_000, calcomCallsPerMinute: 100_000 })
    // The service's default command timeout (10 s) and more, not the review tests' 5 s: the admin
    // token's resyncs re-drive every failed appointment of the runs, one after another, which took
    // up to 3 s here and once passed 5 s (a 503, "did not answer resync in time") while the
    // other phases kept the process busy.
    review = await startReviewHarness({ names: stack.names, commandTimeoutMs: 30_000 })
    urls.appointments = await listen(stack.appointments.app)
    urls.review = await listen(review.app)
    mkdirSync(ARTIFACTS, { recursive: true })
    // Its working directory: schemathesis reads a config file and may write state there.
    work = mkdtempSync(join(tmpdir(), 'calsync-schemathesis-'))
    writeFileSync(join(work, 'schemathesis.toml'), configToml())
  })
  afterAll(async () => {
    await review?.close()
    await stack?.close()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it.each(RUNS)(
    '$name: every generated request is answered as the document says',
    async ({ name, service, token }) => {
      const { code, output } = await runToEnd(
        SCHEMATHESIS,
        [
          '--config-file',
          join(work, 'schemathesis.toml'),
          'run',
          `${urls[service]}/openapi.json`,
          '--checks',
          CHECKS.join(','),
          '--header',
          `Authorization: Bearer ${token}`,
          '--max-examples',
          String(MAX_EXAMPLES),
          '--seed',
          String(SEED),
          '--generation-database',
          'none',
          // One worker: the same cases in the same order each run, and Hypothesis's lambda-source
          // cache is not thread-safe on Python 3.11 (two workers once ended a run in a
          // "Runtime Error: AST constructor recursion depth mismatch" inside schemathesis).
          '--workers',
          '1',
          // Above the review API's 30 s wait for the appointments service: a slow answer is a 503
          // to report, not a request schemathesis gave up on.
          '--request-timeout',
          '60',
          '--no-color',
          '--report',
          'junit',
          '--report-junit-path',
          join(ARTIFACTS, `${name}.junit.xml`),
        ],
        { cwd: work, env: { ...process.env, NO_COLOR: '1', COLUMNS: '120' } },
      )
      writeFileSync(join(ARTIFACTS, `${name}.txt`), output)
      const summary = summaryOf(output)
      process.stdout.write(`[schemathesis] ${name} (${service} ${urls[service]}/openapi.json):\n${summary}\n`)
      expect(code, output).toBe(0)
      // Every generated case passed: no failure or error section, and as many passed as generated.
      expect(summary).not.toMatch(/^(Failures|Errors):/m)
      const [, generated, passed] = /^ {2}(\d+) generated, (\d+) passed$/m.exec(summary) ?? []
      expect(Number(generated), summary).toBeGreaterThan(0)
      expect(passed, summary).toBe(generated)
    },
    180_000,
  )
})
