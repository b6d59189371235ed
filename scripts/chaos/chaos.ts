// `npm run chaos`: the fault-injection proof. The whole stack as separate processes (one NATS, the
// database, two instances of every calsync service, the Cal.com sandbox with faults), thousands of
// mixed changes over several tenants while every instance is SIGKILLed several times and NATS and
// the database are restarted once each; then it settles and prints one line per figure. Exit 0
// only when every invariant figure is 0. Knobs: CALSYNC_CHAOS_CHANGES, _KILLS, _CLIENTS, _SEED,
// _SETTLE_MINUTES, _KEEP=1 (keep the run's directory with every process's log).
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findFreePort, startRestartableFerretDb, startRestartableNatsServer } from '@calsync/local-infra'
import { generateRegistryKey } from '@calsync/service-kit'
import { runTenants, tenantsYaml } from '../lib/run-tenants.ts'
import { createAnswerLog } from './answers.ts'
import { chaosFigures } from './chaos-figures.ts'
import { createLoad } from './chaos-load.ts'
import { createMonkey, planDisruptions } from './chaos-monkey.ts'
import { chaosOptions, seededRandom } from './chaos-options.ts'
import { readState, settle } from './chaos-state.ts'
import { startFleet } from './fleet.ts'
import { startFrontDoor } from './front-door.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const say = (line: string) => process.stdout.write(`[chaos] ${new Date().toISOString().slice(11, 19)} ${line}\n`)

const LABELS: Record<string, string> = {
  lost: 'accepted changes lost',
  duplicateCalcomBookings: 'duplicate Cal.com bookings',
  mismatches: 'mismatches between calsync and Cal.com',
  loops: 'loops (calsync writes for Cal.com’s own changes)',
  unsyncedNotInReview: 'unsynced appointments not in review',
  overlappingNotFlagged: 'overlapping bookings not flagged',
  serverErrorsWhileUp: '5xx answers while up',
  crashes: 'service exits nobody caused',
}

async function main(): Promise<number> {
  const options = chaosOptions(process.env)
  const random = seededRandom(options.seed)
  const runDir = mkdtempSync(join(tmpdir(), 'calsync-chaos-'))
  const tenants = runTenants('chaos', ['north', 'south', 'east'], 3001)
  const tenantsFile = join(runDir, 'tenants.yaml')
  writeFileSync(tenantsFile, tenantsYaml(tenants))
  const adminToken = `chaos_admin_${randomBytes(12).toString('hex')}`
  say(
    `seed ${options.seed}: ${options.changes} changes, ${options.clients} clients, ${options.killsPerInstance} kills per instance${options.reconcileSeconds > 0 ? `, reconcile passes every ${options.reconcileSeconds} s` : ''}`,
  )

  const nats = await startRestartableNatsServer({ dataDir: runDir })
  const database = await startRestartableFerretDb({ dataDir: runDir })
  say(`${nats.version}; ${database.version}`)
  const answers = createAnswerLog()
  const doorPort = await findFreePort()
  const fleet = await startFleet(
    {
      root,
      runDir,
      env: {
        ...process.env,
        NATS_URL: nats.url,
        MONGO_URL: database.url,
        CALSYNC_TENANTS: tenantsFile,
        CALSYNC_ADMIN_TOKEN: adminToken,
        CALSYNC_REGISTRY_KEY: generateRegistryKey(),
        LOG_LEVEL: 'info',
      },
    },
    {
      'calcom-sandbox': {
        CALCOM_SANDBOX_WEBHOOK_URL: `http://127.0.0.1:${doorPort}/webhooks/calcom/{tenantId}`,
        CALCOM_SANDBOX_RATE_LIMIT: '6000',
      },
      appointments: { CALSYNC_OUTBOX_INTERVAL: '200ms' },
      'calcom-sync': {
        // A killed worker's appointments free up this soon, its unacknowledged messages come back.
        CALSYNC_LEASE_TTL: '5s',
        CALSYNC_SYNC_ACK_WAIT: '5s',
        CALCOM_TIMEOUT: '3s',
        CALSYNC_SYNC_BACKOFF: '500ms,1s,2s,4s',
        CALSYNC_CALCOM_CALLS_PER_MINUTE: '3000',
        // Off by default: the figures are the webhook path's (the front door retries every
        // delivery). CALSYNC_CHAOS_RECONCILE_SECONDS runs passes beside it, racing the webhooks.
        CALSYNC_RECONCILE_INTERVAL: `${options.reconcileSeconds}s`,
        CALSYNC_RECONCILE_HORIZON: '20000h',
      },
    },
  )
  const upUrls = (service: 'webhook-gateway' | 'appointments' | 'review') =>
    fleet
      .of(service)
      .filter((instance) => instance.up())
      .map((instance) => instance.url)
  const door = await startFrontDoor({ port: doorPort, upstreams: () => upUrls('webhook-gateway'), answers })
  say(`up: ${fleet.instances.map((instance) => instance.name).join(', ')}, calcom-sandbox; logs in ${runDir}/logs`)

  const plan = planDisruptions({
    instances: fleet.instances.map((instance) => instance.name),
    killsPerInstance: options.killsPerInstance,
    changes: options.changes,
    tenants,
    random,
  })
  const monkey = createMonkey({
    plan,
    instances: fleet.instances,
    servers: { nats, database },
    sandboxUrl: fleet.sandbox.url,
    answers,
    random,
    log: say,
  })
  const load = createLoad({
    tenants,
    appointmentsUrls: () => upUrls('appointments'),
    sandboxUrl: fleet.sandbox.url,
    answers,
    random,
    days: Math.max(2, Math.ceil(options.changes / 150)),
  })
  const started = Date.now()
  const tenth = Math.max(1, Math.floor(options.changes / 10))
  let done = 0
  await load.run(options.changes, options.clients, () => {
    monkey.reached(++done)
    if (done % tenth === 0) say(`${done} changes made (${((Date.now() - started) / 1000).toFixed(0)} s)`)
  })
  await monkey.finish()
  say(`changes done in ${((Date.now() - started) / 1000).toFixed(0)} s; settling…`)
  const settled = await settle({
    natsUrl: nats.url,
    sandboxUrl: fleet.sandbox.url,
    appointmentsUrl: upUrls('appointments')[0] ?? '',
    tenants,
    timeoutMs: options.settleMinutes * 60_000,
  })
  const state = await readState({
    tenants,
    appointmentsUrl: upUrls('appointments')[0] ?? '',
    reviewUrl: upUrls('review')[0] ?? '',
    sandboxUrl: fleet.sandbox.url,
    adminToken,
  })
  const crashes = fleet.instances.reduce((sum, instance) => sum + instance.crashes(), 0)
  const figures = chaosFigures({
    ledger: load.ledger,
    ...state,
    answers: answers.answers,
    outages: answers.outages,
    crashes,
  })

  const { ledger } = load
  const kills = [...monkey.counts.kills.entries()].map(([name, count]) => `${name} ${count}`).join(', ')
  const killTotal = [...monkey.counts.kills.values()].reduce((sum, count) => sum + count, 0)
  say(
    `${ledger.attempted} changes attempted: ${ledger.accepted + ledger.customerAccepted} accepted (${ledger.accepted} through the API, ${ledger.customerAccepted} on Cal.com), ${ledger.refused} refused, ${ledger.unanswered} unanswered`,
  )
  say(
    `kill -9: ${killTotal} (${kills}); restarts: NATS ${monkey.counts.restarts.nats}, database ${monkey.counts.restarts.database}`,
  )
  say(
    `Cal.com faults injected: ${monkey.counts.calcomFaults}; webhooks the front door retried: ${door.stats.retried}, gave up: ${door.stats.gaveUp}; ${state.appointments.length} appointments, ${state.bookings.length} Cal.com bookings, ${state.reviewItems.length} open review items; settled: ${settled}`,
  )
  process.stdout.write(`${'changes accepted'.padEnd(52)} ${ledger.accepted + ledger.customerAccepted}\n`)
  for (const [name, { count, examples }] of Object.entries(figures.invariants)) {
    process.stdout.write(
      `${(LABELS[name] ?? name).padEnd(52)} ${count}${examples.length ? `   e.g. ${examples.join('; ')}` : ''}\n`,
    )
  }
  const clean = settled && Object.values(figures.invariants).every((figure) => figure.count === 0)
  writeFileSync(
    join(runDir, 'report.json'),
    JSON.stringify(
      {
        options,
        figures,
        kills: Object.fromEntries(monkey.counts.kills),
        restarts: monkey.counts.restarts,
        outages: answers.outages,
        settled,
      },
      null,
      2,
    ),
  )

  await door.close()
  await fleet.stop()
  await nats.dispose()
  await database.dispose()
  if (clean && !options.keep) rmSync(runDir, { recursive: true, force: true })
  else say(`the run's logs and report are in ${runDir}`)
  say(clean ? 'every figure is 0' : 'FAILED: a figure is not 0 (or the system did not settle)')
  return clean ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[chaos] cannot run: ${(error as Error).stack ?? error}\n`)
    process.exit(2)
  },
)
