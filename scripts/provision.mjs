// Installs the pinned toolchain into git-ignored project folders (.tools/, node_modules/).
// Runs on the system Node (>= 20) with no dependencies, so it cannot import project code.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const toolsDir = join(root, '.tools')
export const binDir = join(toolsDir, 'bin')
const versions = JSON.parse(readFileSync(join(root, 'tools', 'versions.json'), 'utf8'))

const log = (message) => process.stderr.write(`[provision] ${message}\n`)

export class ProvisionError extends Error {
  name = 'ProvisionError'
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options })
  if (result.error) throw new ProvisionError(`${command} could not start: ${result.error.message}`)
  if (result.status !== 0) {
    throw new ProvisionError(`${command} ${args.join(' ')} failed with exit code ${result.status}`)
  }
}

function hashFiles(paths, extra = '') {
  const hash = createHash('sha256').update(extra)
  for (const path of paths) hash.update(path).update(existsSync(path) ? readFileSync(path) : '')
  return hash.digest('hex')
}

function stamped(stampPath, value) {
  return existsSync(stampPath) && readFileSync(stampPath, 'utf8') === value
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).stdout.trim() || null
}

/** An npm package installed into a prefix of its own, so reinstalling one never wipes another. */
function ensureNpmTool(name, spec, binary) {
  const prefix = join(toolsDir, name)
  const stamp = join(prefix, '.installed')
  const target = join(prefix, 'node_modules', binary)
  if (stamped(stamp, spec) && existsSync(target)) return target
  log(`installing ${spec} into .tools/${name}`)
  mkdirSync(prefix, { recursive: true })
  // A package.json of its own keeps npm from treating the repository root as the project.
  writeFileSync(join(prefix, 'package.json'), '{ "private": true }\n')
  run('npm', [
    'install',
    '--prefix',
    prefix,
    '--no-save',
    '--no-package-lock',
    '--engine-strict=false',
    '--loglevel=error',
    spec,
  ])
  if (!existsSync(target)) throw new ProvisionError(`${spec} installed but ${target} is missing`)
  writeFileSync(stamp, spec)
  return target
}

export function ensureNode() {
  const pkg = `node-${process.platform}-${process.arch}`
  return ensureNpmTool('node', `${pkg}@${versions.node}`, join(pkg, 'bin', 'node'))
}

export function ensurePnpm() {
  return ensureNpmTool('pnpm', `pnpm@${versions.pnpm}`, join('pnpm', 'bin', 'pnpm.cjs'))
}

function workspaceManifests() {
  const manifests = [join(root, 'package.json'), join(root, 'pnpm-workspace.yaml')]
  for (const group of ['packages', 'services']) {
    const dir = join(root, group)
    if (!existsSync(dir)) continue
    const names = spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)
    for (const name of names) manifests.push(join(dir, name, 'package.json'))
  }
  return manifests
}

export function ensureDependencies(node, pnpm) {
  const stamp = join(root, 'node_modules', '.calsync-installed')
  const key = hashFiles([join(root, 'pnpm-lock.yaml'), ...workspaceManifests()], node)
  if (stamped(stamp, key)) return
  log('installing dependencies (pnpm install --frozen-lockfile)')
  run(node, [pnpm, 'install', '--frozen-lockfile', '--reporter=append-only'], {
    cwd: root,
    env: withNodeOnPath(node),
  })
  writeFileSync(stamp, key)
}

export function withNodeOnPath(node, env = process.env) {
  return { ...env, PATH: `${dirname(node)}:${join(root, 'node_modules', '.bin')}:${env.PATH}` }
}

/** True when a Docker-compatible engine answers its ping within a few seconds. */
export function containerRuntimeAnswers(timeoutMs = 3000) {
  const host = process.env.DOCKER_HOST
  const socket = host?.startsWith('unix://')
    ? host.slice('unix://'.length)
    : [
        '/var/run/docker.sock',
        join(process.env.HOME ?? '', '.docker', 'run', 'docker.sock'),
        `/run/user/${process.getuid?.()}/podman/podman.sock`,
      ].find((path) => existsSync(path))
  const tcp = host?.startsWith('tcp://') ? new URL(host.replace('tcp://', 'http://')) : null
  if (!socket && !tcp) return Promise.resolve(false)
  return new Promise((resolvePing) => {
    const target = tcp ? { host: tcp.hostname, port: tcp.port || 2375 } : { socketPath: socket }
    const req = request({ ...target, path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume()
      resolvePing(res.statusCode === 200)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolvePing(false))
    req.end()
  })
}

function goBuild(label, stampValue, binary, args, cwd) {
  const target = join(binDir, binary)
  const stamp = join(binDir, `.${binary}.installed`)
  if (stamped(stamp, stampValue) && existsSync(target)) return target
  if (!onPath('go')) return null
  log(`building ${label} with go install (cached by Go after the first time)`)
  mkdirSync(binDir, { recursive: true })
  run('go', args, { cwd, env: { ...process.env, GOBIN: binDir, CGO_ENABLED: '0' } })
  writeFileSync(stamp, stampValue)
  return target
}

export function ensureNatsServer() {
  const version = versions.natsServer
  const built = goBuild(
    `nats-server ${version}`,
    version,
    'nats-server',
    ['install', `github.com/nats-io/nats-server/v2@${version}`],
    root,
  )
  if (built) return built
  const system = onPath('nats-server')
  if (system) log(`no Go found: falling back to ${system} (older servers lack some JetStream features)`)
  return system
}

/**
 * FerretDB from tools/ferretdb, with the patches in tools/ferretdb/patches applied to a copy of
 * its module source under .tools/build (their headers say why): the copy of the tools module
 * there is pointed at it with a `replace`, so the committed go.mod stays the upstream pin.
 */
export function ensureFerretDb() {
  const moduleDir = join(root, 'tools', 'ferretdb')
  const patchesDir = join(moduleDir, 'patches')
  const patches = existsSync(patchesDir)
    ? readdirSync(patchesDir)
        .filter((name) => name.endsWith('.patch'))
        .sort()
        .map((name) => join(patchesDir, name))
    : []
  const key = hashFiles([...['go.mod', 'go.sum', 'main.go'].map((file) => join(moduleDir, file)), ...patches])
  const target = join(binDir, 'ferretdb')
  if (stamped(join(binDir, '.ferretdb.installed'), key) && existsSync(target)) return target
  if (!onPath('go')) return null
  const buildDir = join(toolsDir, 'build', 'ferretdb')
  rmSync(buildDir, { recursive: true, force: true })
  mkdirSync(buildDir, { recursive: true })
  const module = `github.com/FerretDB/FerretDB@${versions.ferretdb}`
  const downloaded = spawnSync('go', ['mod', 'download', '-json', module], { cwd: moduleDir, encoding: 'utf8' })
  if (downloaded.status !== 0) throw new ProvisionError(`go mod download ${module} failed: ${downloaded.stderr}`)
  const sourceDir = join(buildDir, 'source')
  // The module cache is read-only; the copy is not.
  cpSync(JSON.parse(downloaded.stdout).Dir, sourceDir, { recursive: true })
  chmodTree(sourceDir)
  for (const patch of patches) {
    // Run outside any repository, so git applies it as a plain patch to that directory.
    run('git', ['apply', '--unsafe-paths', `--directory=${sourceDir}`, patch], { cwd: tmpdir() })
  }
  const toolDir = join(buildDir, 'tool')
  mkdirSync(toolDir)
  for (const file of ['go.mod', 'go.sum', 'main.go']) cpSync(join(moduleDir, file), join(toolDir, file))
  run('go', ['mod', 'edit', `-replace=github.com/FerretDB/FerretDB=${sourceDir}`], { cwd: toolDir })
  return goBuild(
    `FerretDB ${versions.ferretdb} (${patches.length} patches)`,
    key,
    'ferretdb',
    ['install', '.'],
    toolDir,
  )
}

/** Makes every file and directory under `dir` writable by its owner. */
function chmodTree(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    chmodSync(path, entry.isDirectory() ? 0o755 : 0o644)
    if (entry.isDirectory()) chmodTree(path)
  }
  chmodSync(dir, 0o755)
}

export const chromiumPath = () => process.env.CALSYNC_CHROMIUM || '/usr/bin/chromium'

/** Installs Debian packages once (as root, where apt-get exists); false where it cannot. */
function aptInstall(packages, why) {
  if (process.getuid?.() !== 0 || !onPath('apt-get')) return false
  log(`installing Debian ${packages.join(', ')} for ${why} (apt-get, once)`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  // dpkg's per-package chatter would bury the test output; errors still reach stderr.
  const quiet = { env, stdio: ['ignore', 'ignore', 'inherit'] }
  run('apt-get', ['update', '-qq'], quiet)
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], quiet)
  return true
}

/**
 * The browser test drives the system's Chromium (a test tool's own browser download does not
 * work behind a closed network). On Debian as root it is installed from the distribution.
 */
export function ensureChromium() {
  const path = chromiumPath()
  if (existsSync(path)) return path
  if (process.env.CALSYNC_CHROMIUM || !aptInstall(['chromium'], 'the browser test')) {
    throw new ProvisionError(
      `the dashboard browser test needs Chromium at ${path}: install it (Debian: apt-get install chromium) ` +
        'or set CALSYNC_CHROMIUM to its path.',
    )
  }
  if (!existsSync(path)) throw new ProvisionError(`chromium installed but ${path} is missing`)
  return path
}

/** Where ensureSchemathesis puts schemathesis's venv and its `st` command. */
export const pythonToolsDir = join(toolsDir, 'python')
export const schemathesisPath = join(pythonToolsDir, 'bin', 'st')

/**
 * schemathesis (the API fuzzer of test/schemathesis.test.ts) in a venv of its own under
 * .tools/python, from tools/schemathesis/requirements.txt: every package pinned, installed with
 * --no-deps so nothing is re-resolved, then `pip check`. A stamp of the list makes later runs instant.
 */
export function ensureSchemathesis() {
  const requirements = join(root, 'tools', 'schemathesis', 'requirements.txt')
  const stamp = join(pythonToolsDir, '.installed')
  // The venv's scripts name its absolute path: a checkout moved elsewhere needs a new one.
  const key = hashFiles([requirements], pythonToolsDir)
  const python = join(pythonToolsDir, 'bin', 'python')
  if (stamped(stamp, key) && existsSync(python) && existsSync(schemathesisPath)) return schemathesisPath
  const system = process.env.CALSYNC_PYTHON || 'python3'
  const probe = spawnSync(system, ['-c', 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))'], {
    encoding: 'utf8',
  })
  if (probe.error || probe.status !== 0) {
    throw new ProvisionError(
      `the schemathesis test needs Python >= 3.9 with venv and pip as ${system}: install it ` +
        '(Debian: apt-get install python3 python3-venv) or set CALSYNC_PYTHON to such an interpreter.' +
        (probe.stderr ? `\n${system} said: ${probe.stderr.trim()}` : ''),
    )
  }
  log('installing schemathesis (tools/schemathesis/requirements.txt) into .tools/python')
  rmSync(pythonToolsDir, { recursive: true, force: true })
  run(system, ['-m', 'venv', pythonToolsDir])
  const pip = ['-m', 'pip', '--disable-pip-version-check', '--no-input', '--quiet']
  run(python, [...pip, 'install', '--no-deps', '--only-binary=:all:', '--requirement', requirements])
  run(python, [...pip, 'check'])
  if (!existsSync(schemathesisPath))
    throw new ProvisionError(`schemathesis installed but ${schemathesisPath} is missing`)
  writeFileSync(stamp, key)
  return schemathesisPath
}

/** PostgreSQL's bin directory, as packages/local-infra/src/postgres.ts looks for it. */
function postgresBinDir() {
  const candidates = [process.env.CALSYNC_POSTGRES_BIN]
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const majors = readdirSync(debian).filter((name) => /^\d+$/.test(name))
    for (const major of majors.sort((a, b) => Number(b) - Number(a))) candidates.push(join(debian, major, 'bin'))
  }
  return candidates.find((dir) => dir && existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb')))
}

/**
 * FerretDB over PostgreSQL (CALSYNC_FERRETDB_BACKEND=postgresql, and the test of that path)
 * runs the system's PostgreSQL in a directory of its own. On Debian as root it is installed
 * from the distribution.
 */
export function ensurePostgres() {
  if (postgresBinDir()) return
  if (process.env.CALSYNC_POSTGRES_BIN || !aptInstall(['postgresql'], 'FerretDB over PostgreSQL')) {
    throw new ProvisionError(
      'FerretDB over PostgreSQL needs the PostgreSQL server binaries: install them (Debian: apt-get install postgresql) ' +
        'or set CALSYNC_POSTGRES_BIN to their directory.',
    )
  }
  if (!postgresBinDir())
    throw new ProvisionError('postgresql installed but no /usr/lib/postgresql/<major>/bin/postgres')
}

/**
 * Makes sure a NATS server and a MongoDB-wire database can be had: from the environment,
 * from a container engine (tests only), or as local binaries built with Go.
 */
export async function ensureServers({ allowContainers }) {
  const needNats = !process.env.NATS_URL
  const needMongo = !process.env.MONGO_URL
  if (!needNats && !needMongo) return
  if (process.env.CALSYNC_INFRA !== 'local' && allowContainers && (await containerRuntimeAnswers())) {
    log('container engine found: tests will use testcontainers for what the environment lacks')
    return
  }
  const missing = []
  if (needNats && !ensureNatsServer()) missing.push('NATS (nats-server)')
  if (needMongo && !ensureFerretDb()) missing.push('a MongoDB-wire database (FerretDB)')
  if (missing.length > 0) {
    throw new ProvisionError(
      `cannot provide ${missing.join(' and ')}: install Go >= 1.24 (to build them), ` +
        'or start a Docker-compatible container engine, or set NATS_URL and MONGO_URL.',
    )
  }
}

// `node scripts/provision.mjs schemathesis` installs schemathesis alone (npm test does it anyway),
// for running test/schemathesis.test.ts by hand through `node scripts/run.mjs exec vitest ...`.
if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  if (process.argv[2] !== 'schemathesis') {
    process.stderr.write('usage: node scripts/provision.mjs schemathesis\n')
    process.exit(2)
  }
  try {
    process.stdout.write(`${ensureSchemathesis()}\n`)
  } catch (error) {
    if (!(error instanceof ProvisionError)) throw error
    process.stderr.write(`\ncalsync: ${error.message}\n`)
    process.exit(1)
  }
}
