// `npm run bench`: what calsync costs, measured in one run as ratios to a baseline measured
// beside it (this machine is small and shared: read the ratios, not the absolute figures).
// Sections (CALSYNC_BENCH_SECTIONS, comma-separated; default all):
//   gateway   the webhook gateway against a bare Fastify route, same generator and bodies;
//   commands  database commands per create and per webhook applied, from the services' metrics;
//   lookups   each query shape calsync uses on the embedded database: pushed down or not, and the
//             time of one lookup in a large collection against a small one;
//   throughput creates from a few clients (answered, and on Cal.com) and a burst of webhooks
//             applied, per second (CALSYNC_BENCH_CLIENTS, 4);
//   growth    creates, a burst of webhooks and list windows with a small and a large history
//             seeded into the database (CALSYNC_BENCH_GROWTH_SIZES, 1000,50000): large/small;
//   latency   creates sent open-loop at fixed rates (CALSYNC_BENCH_RATES, 2,5,10 per second,
//             CALSYNC_BENCH_SECONDS each): request → booking on Cal.com, against a direct call;
//   drain     calcom-sync down for CALSYNC_BENCH_OUTAGE_SECONDS (60) while creates arrive at
//             5/s for CALSYNC_BENCH_DRAIN_TENANTS tenants (2: few enough that their call budgets,
//             100 a minute each, are the limit): the drain time against the least those budgets
//             allow, and 429s.
// Knobs: CALSYNC_BENCH_SECONDS (10, per load run), CALSYNC_BENCH_ROUNDS (3, alternating runs),
// CALSYNC_BENCH_TENANTS (100), CALSYNC_BENCH_CHANGES (200),
// CALSYNC_BENCH_LOOKUP_SIZES (1000,20000), CALSYNC_BENCH_KEEP=1 (keep the run's
// directory and logs). The JSON report goes to test-artifacts/bench/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ferretDbBackend, startRestartableFerretDb, startRestartableNatsServer } from '@calsync/local-infra'
import { generateRegistryKey } from '@calsync/service-kit'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { runTenants, tenantsYaml } from '../lib/run-tenants.ts'
import { startBenchStack } from './bench-stack.ts'
import { benchCommands } from './commands-bench.ts'
import { benchDrain, benchLatency } from './delivery-bench.ts'
import { benchGateway } from './gateway-bench.ts'
import { benchGrowth } from './growth-bench.ts'
import { benchLookups } from './lookups-bench.ts'
import { benchThroughput } from './throughput-bench.ts'

const SECTIONS = ['gateway', 'commands', 'lookups', 'throughput', 'growth', 'latency', 'drain'] as const
type Section = (typeof SECTIONS)[number]

const root = fileURLToPath(new URL('../../', import.meta.url))
const say = (line: string) => process.stdout.write(`[bench] ${new Date().toISOString().slice(11, 19)} ${line}\n`)

function wholeNumber(name: string, fallback: number): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < 1) throw new Error(`${name}: "${text}" is not a whole number ≥ 1`)
  return value
}

function sections(): Section[] {
  const text = process.env.CALSYNC_BENCH_SECTIONS
  if (!text) return [...SECTIONS]
  const asked = text.split(',').map((part) => part.trim())
  const unknown = asked.filter((part) => !(SECTIONS as readonly string[]).includes(part))
  if (unknown.length > 0)
    throw new Error(`CALSYNC_BENCH_SECTIONS: unknown ${unknown.join(', ')}; known: ${SECTIONS.join(', ')}`)
  return asked as Section[]
}

function sizesOf(name: string, fallback: string): [number, number] {
  const text = process.env[name] || fallback
  const sizes = text.split(',').map(Number)
  const [small, large] = sizes
  if (
    sizes.length !== 2 ||
    !small ||
    !large ||
    !Number.isInteger(small) ||
    !Number.isInteger(large) ||
    small >= large
  ) {
    throw new Error(`${name}: "${text}" is not two whole numbers, small,large`)
  }
  return [small, large]
}

function ratesOf(text: string): number[] {
  const rates = text.split(',').map(Number)
  if (rates.some((rate) => !Number.isFinite(rate) || rate <= 0)) {
    throw new Error(`CALSYNC_BENCH_RATES: "${text}" is not a list of positive rates per second`)
  }
  return rates
}

/** calcom-sync's Cal.com call budget per tenant (its default, set here so the drain knows it). */
const CALLS_PER_MINUTE = 100

async function main(): Promise<number> {
  const chosen = sections()
  const options = {
    seconds: wholeNumber('CALSYNC_BENCH_SECONDS', 10),
    rounds: wholeNumber('CALSYNC_BENCH_ROUNDS', 3),
    tenants: wholeNumber('CALSYNC_BENCH_TENANTS', 100),
    changes: wholeNumber('CALSYNC_BENCH_CHANGES', 200),
    clients: wholeNumber('CALSYNC_BENCH_CLIENTS', 4),
    lookupSizes: sizesOf('CALSYNC_BENCH_LOOKUP_SIZES', '1000,20000'),
    growthSizes: sizesOf('CALSYNC_BENCH_GROWTH_SIZES', '1000,50000'),
    rates: ratesOf(process.env.CALSYNC_BENCH_RATES || '2,5,10'),
    outageSeconds: wholeNumber('CALSYNC_BENCH_OUTAGE_SECONDS', 60),
    drainTenants: wholeNumber('CALSYNC_BENCH_DRAIN_TENANTS', 2),
  }
  const runDir = mkdtempSync(join(tmpdir(), 'calsync-bench-'))
  const tenants = runTenants(
    'bench',
    Array.from({ length: options.tenants }, (_, index) => `t${String(index + 1).padStart(3, '0')}`),
    5001,
  )
  const tenantsFile = join(runDir, 'tenants.yaml')
  writeFileSync(tenantsFile, tenantsYaml(tenants))
  // One registry key for every service this run starts (they all inherit process.env).
  process.env.CALSYNC_REGISTRY_KEY ||= generateRegistryKey()
  const nats = await startRestartableNatsServer({ dataDir: runDir })
  const needsDatabase = chosen.some((section) => section !== 'gateway')
  const database = needsDatabase ? await startRestartableFerretDb({ dataDir: runDir }) : undefined
  say(
    `sections ${chosen.join(', ')}; ${options.tenants} tenants; ${nats.version}${database ? `; ${database.version}` : ''}`,
  )
  const report: Record<string, unknown> = {
    at: new Date().toISOString(),
    options,
    backend: needsDatabase ? ferretDbBackend() : undefined,
    servers: { nats: nats.version, database: database?.version },
  }
  try {
    if (chosen.includes('gateway')) {
      const figures = await benchGateway({
        root,
        runDir,
        natsUrl: nats.url,
        tenantsFile,
        tenants,
        connections: [32, 128],
        seconds: options.seconds,
        rounds: options.rounds,
        say,
      })
      report.gateway = figures
      for (const figure of figures) {
        say(
          `gateway at ${figure.connections} connections: ${figure.gateway.requestsPerSecond.toFixed(0)} req/s vs bare ${figure.bare.requestsPerSecond.toFixed(0)} (ratio ${figure.ratios.requestsPerSecond.toFixed(2)}); p99 ${figure.gateway.p99Ms} ms vs ${figure.bare.p99Ms} ms (ratio ${figure.ratios.p99.toFixed(2)}); CPU per request ${figure.gateway.cpuMsPerRequest.toFixed(3)} ms vs ${figure.bare.cpuMsPerRequest.toFixed(3)} ms (ratio ${figure.ratios.cpuPerRequest.toFixed(2)}), plus nats-server ${figure.gateway.natsCpuMsPerRequest?.toFixed(3)} ms; accepted but not stored: ${figure.acceptedNotStored}`,
        )
      }
    }
    if (database && chosen.includes('lookups')) {
      const figures = await benchLookups({ mongoUrl: database.url, sizes: options.lookupSizes, say })
      report.lookups = figures
      for (const shape of figures.shapes) {
        say(
          `lookups, ${shape.name}: pushed down ${JSON.stringify(shape.pushdown)}; ${shape.msPerLookup.map((ms) => ms.toFixed(2)).join(' ms vs ')} ms at ${figures.sizes.join(' vs ')} documents (ratio ${shape.ratio.toFixed(2)})`,
        )
      }
    }
    if (
      database &&
      ['commands', 'throughput', 'growth', 'latency', 'drain'].some((section) => chosen.includes(section as Section))
    ) {
      const env = {
        ...process.env,
        NATS_URL: nats.url,
        MONGO_URL: database.url,
        CALSYNC_TENANTS: tenantsFile,
        CALSYNC_WEBHOOK_RATE_LIMIT: '1000000',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      }
      const stack = await startBenchStack({
        root,
        runDir,
        env,
        perService: {
          'calcom-sync': {
            CALSYNC_RECONCILE_INTERVAL: '0s',
            CALSYNC_CALCOM_CALLS_PER_MINUTE: String(CALLS_PER_MINUTE),
          },
        },
      })
      const nc = await connect({ servers: nats.url, name: 'bench' })
      const jsm = await jetstreamManager(nc)
      try {
        if (chosen.includes('commands')) {
          report.commands = await benchCommands({ stack, jsm, tenants, count: options.changes, day: 0, say })
        }
        if (chosen.includes('throughput')) {
          report.throughput = await benchThroughput({
            stack,
            jsm,
            tenants,
            count: options.changes,
            clients: options.clients,
            day: 10,
            say,
          })
        }
        if (chosen.includes('growth')) {
          const figures = await benchGrowth({
            stack,
            jsm,
            mongoUrl: database.url,
            tenants,
            sizes: options.growthSizes,
            count: options.changes,
            day: 400,
            say,
          })
          report.growth = figures
          say(
            `growth ${figures.rounds[0].appointments} → ${figures.rounds[1].appointments} appointments, large/small: create ${figures.ratios.create}, webhook apply ${figures.ratios.webhookApply}, list window ${figures.ratios.listWindow}; seeded ${figures.seeding.documents} documents in ${figures.seeding.seconds} s`,
          )
        }
        if (chosen.includes('latency')) {
          report.latency = await benchLatency({
            stack,
            jsm,
            tenants,
            rates: options.rates,
            seconds: options.seconds,
            day: 500,
            say,
          })
        }
        if (chosen.includes('drain')) {
          report.drain = await benchDrain({
            stack,
            jsm,
            tenants: tenants.slice(0, options.drainTenants),
            outageSeconds: options.outageSeconds,
            perSecond: 5,
            callsPerMinute: CALLS_PER_MINUTE,
            day: 520,
            say,
          })
        }
      } finally {
        await nc.close()
        await stack.stop()
      }
    }
  } finally {
    await nats.dispose()
    await database?.dispose()
  }
  const reportDir = join(root, 'test-artifacts', 'bench')
  mkdirSync(reportDir, { recursive: true })
  const reportFile = join(reportDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(reportFile, `${JSON.stringify(report, null, 2)}\n`)
  say(`report: ${reportFile}`)
  if (process.env.CALSYNC_BENCH_KEEP === '1') say(`the run's directory (logs) is ${runDir}`)
  else rmSync(runDir, { recursive: true, force: true })
  return 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[bench] cannot run: ${(error as Error).stack ?? error}\n`)
    process.exit(2)
  },
)
