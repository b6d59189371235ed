// The one entry point behind `npm test`, `npm start` and the other root scripts:
// provision what is missing, then run the real command on the pinned Node 24.
import { spawn } from 'node:child_process'
import {
  binDir,
  ensureChromium,
  ensureDependencies,
  ensureNode,
  ensurePnpm,
  ensurePostgres,
  ensureSchemathesis,
  ensureServers,
  ProvisionError,
  root,
  withNodeOnPath,
} from './provision.mjs'

const usage = 'usage: node scripts/run.mjs <test|start|service|check|chaos|bench|exec> [args...]'

/** Each command: what it needs provisioned (NATS/MongoDB, Chromium, PostgreSQL, schemathesis), and the steps it runs in order. */
const commands = {
  check: {
    servers: null,
    steps: () => [
      ['biome', 'ci', '--error-on-warnings', '.'],
      ['tsc', '-p', 'tsconfig.json'],
    ],
  },
  test: {
    servers: { allowContainers: true },
    browser: true,
    postgres: true,
    schemathesis: true,
    steps: (args) => [
      ['biome', 'ci', '--error-on-warnings', '.'],
      ['tsc', '-p', 'tsconfig.json'],
      ['vitest', 'run', ...args],
    ],
  },
  start: { servers: { allowContainers: false }, steps: (args) => [['node', 'scripts/start-stack.ts', ...args]] },
  // Kills and restarts its own NATS and database processes, so it needs the binaries, never containers.
  chaos: {
    servers: { allowContainers: false },
    postgres: true,
    steps: (args) => [['node', 'scripts/chaos/chaos.ts', ...args]],
  },
  // Starts its own NATS and database processes, like chaos; never part of `npm test`.
  bench: {
    servers: { allowContainers: false },
    postgres: true,
    steps: (args) => [['node', 'scripts/bench/bench.ts', ...args]],
  },
  service: { servers: null, steps: (args) => [['node', 'scripts/run-service.ts', ...args]] },
  exec: { servers: null, steps: (args) => [args] },
}

function runStep(env, [command, ...args]) {
  return new Promise((resolveStep) => {
    const child = spawn(command, args, { cwd: root, env, stdio: 'inherit' })
    // The terminal delivers Ctrl-C to the whole process group; the child handles it and we
    // wait for its exit. A signal sent to this process alone is passed on.
    const forward = (signal) => child.kill(signal)
    process.on('SIGINT', forward)
    process.on('SIGTERM', forward)
    child.on('error', (error) => {
      process.stderr.write(`cannot run ${command}: ${error.message}\n`)
      resolveStep(127)
    })
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward)
      process.off('SIGTERM', forward)
      resolveStep(code ?? (signal === 'SIGINT' ? 130 : 1))
    })
  })
}

async function main() {
  const [name, ...args] = process.argv.slice(2)
  const command = commands[name]
  if (!command) {
    process.stderr.write(`${usage}\n`)
    return 2
  }
  const started = Date.now()
  const node = ensureNode()
  const pnpm = ensurePnpm()
  ensureDependencies(node, pnpm)
  if (command.servers) await ensureServers(command.servers)
  if (command.browser) ensureChromium()
  if (command.postgres) ensurePostgres()
  const fuzzer = command.schemathesis ? { CALSYNC_SCHEMATHESIS: ensureSchemathesis() } : {}
  process.stderr.write(`[provision] ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`)

  const env = withNodeOnPath(node, { ...process.env, CALSYNC_TOOLS_BIN: binDir, ...fuzzer })
  for (const step of command.steps(args)) {
    const code = await runStep(env, step)
    if (code !== 0) return code
  }
  return 0
}

main().then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof ProvisionError) {
      process.stderr.write(`\ncalsync: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  },
)
