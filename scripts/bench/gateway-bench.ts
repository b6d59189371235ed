// Gateway throughput against a bare Fastify route: the same load generator (autocannon, in this
// process), the same signed bodies, runs alternating between the two so both meet the same
// machine. CPU per request is read from /proc for each server's processes (and nats-server's for
// the gateway, which stores every webhook there). Every 202 must be a message in the stream.
import { createNames, streamDefinitions } from '@calsync/contracts'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import autocannon from 'autocannon'
import { type Instance, startInstance } from '../chaos/fleet.ts'
import { cpuSecondsOf } from '../lib/process-cpu.ts'
import type { RunTenant } from '../lib/run-tenants.ts'
import { findService, type ServiceEntry } from '../services.ts'
import { signedDelivery } from './webhook-bodies.ts'

export interface GatewayBenchOptions {
  root: string
  runDir: string
  natsUrl: string
  tenantsFile: string
  tenants: RunTenant[]
  connections: number[]
  seconds: number
  rounds: number
  say: (line: string) => void
}

export interface LoadRun {
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  requests: number
  statuses: Record<string, number>
  errors: number
  cpuMsPerRequest: number
  natsCpuMsPerRequest?: number
}

export interface TargetFigures {
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  cpuMsPerRequest: number
  natsCpuMsPerRequest?: number
  runs: LoadRun[]
}

export interface GatewayFigures {
  connections: number
  bare: TargetFigures
  gateway: TargetFigures
  ratios: { requestsPerSecond: number; p99: number; cpuPerRequest: number }
  /** 202s the gateway answered that are not messages in the stream (must be 0). */
  acceptedNotStored: number
}

const BARE: ServiceEntry = {
  name: 'bare-fastify',
  entry: 'scripts/bench/bare-fastify.ts',
  portVariable: 'PORT',
  port: 0,
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

function figuresOf(runs: LoadRun[]): TargetFigures {
  const nats = runs.map((run) => run.natsCpuMsPerRequest).filter((value): value is number => value !== undefined)
  return {
    requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
    p50Ms: median(runs.map((run) => run.p50Ms)),
    p99Ms: median(runs.map((run) => run.p99Ms)),
    cpuMsPerRequest: median(runs.map((run) => run.cpuMsPerRequest)),
    ...(nats.length ? { natsCpuMsPerRequest: median(nats) } : {}),
    runs,
  }
}

export async function benchGateway(options: GatewayBenchOptions): Promise<GatewayFigures[]> {
  const env = {
    ...process.env,
    NATS_URL: options.natsUrl,
    CALSYNC_TENANTS: options.tenantsFile,
    // The benchmark measures the route, not the per-tenant limiter: it must never answer 429.
    CALSYNC_WEBHOOK_RATE_LIMIT: '1000000000',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  }
  // CALSYNC_BENCH_PROFILE=1: the gateway writes a V8 CPU profile into the run's directory on exit.
  const profile = process.env.CALSYNC_BENCH_PROFILE === '1'
  const gatewayEnv = profile
    ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${options.runDir}/profiles`.trim() }
    : {}
  const fleet = { root: options.root, runDir: options.runDir, env }
  const gateway = await startInstance(
    fleet,
    findService('webhook-gateway') as ServiceEntry,
    'webhook-gateway',
    gatewayEnv,
  )
  const bare = await startInstance(fleet, BARE, 'bare-fastify', {})
  const nc = await connect({ servers: options.natsUrl, name: 'bench' })
  const jsm = await jetstreamManager(nc)
  const stream = streamDefinitions(createNames()).webhooks.name
  const storedNow = async () => (await jsm.streams.info(stream)).state.messages
  const runId = Date.now().toString(36)
  let n = 0
  const cpuOf = (instance: Instance) => {
    const pid = instance.pid()
    return pid === undefined ? 0 : cpuSecondsOf(() => true, pid)
  }
  const natsCpu = () => cpuSecondsOf((process) => process.comm === 'nats-server')

  async function load(target: Instance, connections: number, seconds: number): Promise<LoadRun> {
    const cpuBefore = cpuOf(target)
    const natsBefore = natsCpu()
    const result = await autocannon({
      url: target.url,
      connections,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          setupRequest: (request) => {
            const delivery = signedDelivery(options.tenants, n++, runId)
            return { ...request, path: delivery.path, headers: delivery.headers, body: delivery.body }
          },
        },
      ],
    })
    const requests = result.requests.total
    const statuses = Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, Number(stat.count)]),
    )
    const cpuMs = (cpuOf(target) - cpuBefore) * 1000
    const natsMs = (natsCpu() - natsBefore) * 1000
    return {
      requestsPerSecond: requests / result.duration,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      requests,
      statuses,
      errors: result.errors,
      cpuMsPerRequest: requests > 0 ? cpuMs / requests : 0,
      ...(target === gateway && requests > 0 ? { natsCpuMsPerRequest: natsMs / requests } : {}),
    }
  }

  const figures: GatewayFigures[] = []
  try {
    for (const connections of options.connections) {
      // Warm both (JIT, connection pools) before anything counts.
      await load(bare, connections, 2)
      await load(gateway, connections, 2)
      const runs = { bare: [] as LoadRun[], gateway: [] as LoadRun[] }
      let acceptedNotStored = 0
      for (let round = 0; round < options.rounds; round++) {
        runs.bare.push(await load(bare, connections, options.seconds))
        const before = await storedNow()
        const run = await load(gateway, connections, options.seconds)
        const stored = (await storedNow()) - before
        acceptedNotStored += Math.max(0, (run.statuses['202'] ?? 0) - stored)
        runs.gateway.push(run)
        options.say(
          `gateway, ${connections} connections, round ${round + 1}: ${run.requestsPerSecond.toFixed(0)} req/s vs bare ${runs.bare.at(-1)?.requestsPerSecond.toFixed(0)}; statuses ${JSON.stringify(run.statuses)}`,
        )
      }
      const bareFigures = figuresOf(runs.bare)
      const gatewayFigures = figuresOf(runs.gateway)
      figures.push({
        connections,
        bare: bareFigures,
        gateway: gatewayFigures,
        ratios: {
          requestsPerSecond: gatewayFigures.requestsPerSecond / bareFigures.requestsPerSecond,
          p99: gatewayFigures.p99Ms / Math.max(bareFigures.p99Ms, 0.001),
          cpuPerRequest: gatewayFigures.cpuMsPerRequest / Math.max(bareFigures.cpuMsPerRequest, 0.000001),
        },
        acceptedNotStored,
      })
    }
  } finally {
    // What it stored was for counting only: no section after it should apply thousands of them.
    await jsm.streams.purge(stream).catch(() => undefined)
    await nc.close()
    await gateway.stop()
    await bare.stop()
  }
  return figures
}
