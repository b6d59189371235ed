// Checks of the repository's Dockerfile and .dockerignore. Each returns the problems it finds
// (empty when right), so the tests can also prove on broken copies that the checks bite.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { Instruction, Stage } from './dockerfile.ts'

export interface DockerBuild {
  stages: Stage[]
  /** Whether .dockerignore leaves a path out of the build context. */
  ignored: (path: string) => boolean
  /** Repository root, as a filesystem path. */
  root: string
}

/** devDependencies of the workspace that must never reach the image. */
export const DEV_TOOLS = ['vitest', 'playwright-core', 'testcontainers', '@biomejs/biome', 'typescript']

const PINNED_IMAGE = /^[a-z0-9./-]+(:\d+\.\d+\.\d+(-[a-z0-9.-]+)?)?(@sha256:[0-9a-f]{64})?$/
/** A package manager invoked as a command (at the start of RUN or after `&&`, `;`, `|`), not merely named in a path. */
const INSTALLS_PACKAGES = /(?:^|&&|;|\|)\s*(?:(?:npm|pnpm|yarn)\s+(?:install|add|ci|i)\b|npx\s|corepack\s)/

const finalStage = (build: DockerBuild) => build.stages.at(-1) as Stage
const all = (stage: Stage, keyword: string) => stage.instructions.filter((item) => item.keyword === keyword)

/** COPY sources and destination; `--from` copies come from a stage, not the build context. */
function copyParts(copy: Instruction): { sources: string[]; destination: string } {
  return { sources: copy.args.slice(0, -1), destination: copy.args.at(-1) ?? '' }
}

function filesUnder(root: string, path: string): string[] {
  const full = join(root, path)
  if (!statSync(full).isDirectory()) return [path]
  return readdirSync(full)
    .filter((entry) => entry !== 'node_modules')
    .flatMap((entry) => filesUnder(root, `${path}/${entry}`))
}

/**
 * Where COPY puts a source, relative to WORKDIR /app: a folder's contents go into the
 * destination, a file goes into it when it ends in `/` (or is the workdir), else becomes it.
 */
function landingPath(root: string, source: string, destination: string): string {
  const directory = destination.replace(/^\/app(\/|$)/, '').replace(/^\.(\/|$)/, '')
  if (statSync(join(root, source)).isDirectory()) return directory.replace(/\/+$/, '')
  if (directory === '' || directory.endsWith('/')) return `${directory}${basename(source)}`
  return directory
}

export function baseImageProblems(build: DockerBuild, nodeVersion: string): string[] {
  return build.stages.flatMap((stage) => {
    const earlierStage = build.stages.some((other) => other !== stage && other.name === stage.image)
    if (earlierStage) return []
    const problems: string[] = []
    const tagged = stage.image.includes(':') || stage.image.includes('@')
    if (!tagged || !PINNED_IMAGE.test(stage.image)) problems.push(`FROM ${stage.image} is not pinned to a version`)
    if (stage.image.startsWith('node:') && !stage.image.startsWith(`node:${nodeVersion}-`)) {
      problems.push(`FROM ${stage.image} is not the Node ${nodeVersion} the tests run on (tools/versions.json)`)
    }
    return problems
  })
}

export function contextProblems(build: DockerBuild): string[] {
  return build.stages.flatMap((stage) =>
    all(stage, 'COPY')
      .filter((copy) => copy.flags.from === undefined)
      .flatMap((copy) => copyParts(copy).sources)
      .flatMap((source) => {
        const path = source.replace(/\/+$/, '')
        if (/[*?[]/.test(path)) return [`COPY ${source}: globs are not checked, name the paths`]
        if (!existsSync(join(build.root, path))) return [`COPY ${source}: no such path in the repository`]
        const missing = filesUnder(build.root, path).filter(build.ignored)
        return missing.length > 0 ? [`COPY ${source}: .dockerignore leaves out ${missing.join(', ')}`] : []
      }),
  )
}

export function installProblems(build: DockerBuild, pnpmVersion: string): string[] {
  const runs = build.stages.slice(0, -1).flatMap((stage) => all(stage, 'RUN'))
  const install = runs.find((run) => /\bpnpm install\b/.test(run.text))
  if (!install) return ['no build stage runs pnpm install']
  const problems: string[] = []
  if (!/--frozen-lockfile\b/.test(install.text)) problems.push('pnpm install does not use --frozen-lockfile')
  if (!/--prod\b/.test(install.text)) problems.push('pnpm install does not use --prod')
  if (!runs.some((run) => run.text.includes(`pnpm@${pnpmVersion}`))) {
    problems.push(`no build stage installs pnpm@${pnpmVersion} (package.json packageManager)`)
  }
  return problems
}

/** The manifests the install stage copies, by repository path. */
export function installedManifests(build: DockerBuild): string[] {
  const stage = build.stages.find((candidate) => all(candidate, 'RUN').some((run) => /\bpnpm install\b/.test(run.text)))
  return (stage ? all(stage, 'COPY') : [])
    .filter((copy) => copy.flags.from === undefined)
    .flatMap((copy) => copyParts(copy).sources)
    .filter((source) => source === 'package.json' || source.endsWith('/package.json'))
}

export function dependencyProblems(build: DockerBuild): string[] {
  const manifests = installedManifests(build)
  const names = new Map<string, string>()
  const parsed = manifests.map((path) => {
    const manifest = JSON.parse(readFileSync(join(build.root, path), 'utf8')) as {
      name?: string
      dependencies?: Record<string, string>
      optionalDependencies?: Record<string, string>
    }
    if (manifest.name) names.set(manifest.name, path)
    return { path, manifest }
  })
  return parsed.flatMap(({ path, manifest }) => {
    const production = { ...manifest.dependencies, ...manifest.optionalDependencies }
    const tools = DEV_TOOLS.filter((tool) => tool in production).map(
      (tool) => `${path} installs ${tool} for production`,
    )
    const workspace = Object.entries(production)
      .filter(([name, version]) => version.startsWith('workspace:') && !names.has(name))
      .map(([name]) => `${path} needs ${name}, whose manifest the install stage does not copy`)
    return [...tools, ...workspace]
  })
}

/** The final stage gets the sources of every installed package and the scripts its commands run. */
export function runtimeFileProblems(build: DockerBuild, required: string[]): string[] {
  const stage = finalStage(build)
  const copied = all(stage, 'COPY')
    .filter((copy) => copy.flags.from === undefined)
    .flatMap((copy) => {
      const { sources, destination } = copyParts(copy)
      return sources.map((source) => ({ source: source.replace(/\/+$/, ''), destination }))
    })
  const sourceDirs = installedManifests(build)
    .filter((path) => path !== 'package.json')
    .map((path) => path.replace(/package\.json$/, 'src'))
  return [...sourceDirs, ...required].flatMap((path) => {
    const copy = copied.find((candidate) => candidate.source === path)
    if (!copy) return [`the final stage does not copy ${path}`]
    if (!existsSync(join(build.root, path))) return [`${path} does not exist`]
    const lands = landingPath(build.root, copy.source, copy.destination)
    return lands === path ? [] : [`the final stage copies ${path} to ${lands}, not to the same path under /app`]
  })
}

export function runtimeStageProblems(build: DockerBuild): string[] {
  const stage = finalStage(build)
  const problems: string[] = []
  const workdir = all(stage, 'WORKDIR').at(-1)?.args[0]
  if (workdir !== '/app') problems.push(`the final stage works in ${workdir ?? '/'}, not /app`)
  const user = all(stage, 'USER').at(-1)?.args[0]
  if (!user || /^(root|0)(:|$)/.test(user)) problems.push(`the final stage runs as ${user ?? 'root (no USER)'}`)
  const healthcheck = all(stage, 'HEALTHCHECK').at(-1)
  if (!healthcheck || healthcheck.args[0] === 'NONE') problems.push('the final stage has no HEALTHCHECK')
  const stopSignal = all(stage, 'STOPSIGNAL').at(-1)?.args[0]
  if (stopSignal !== undefined && stopSignal !== 'SIGTERM')
    problems.push(`STOPSIGNAL ${stopSignal}: services stop on SIGTERM`)
  for (const run of all(stage, 'RUN')) {
    if (INSTALLS_PACKAGES.test(run.text)) problems.push(`the final stage installs packages: RUN ${run.text}`)
  }
  for (const copy of all(stage, 'COPY').filter((item) => item.flags.from !== undefined)) {
    const from = copy.flags.from as string
    if (!build.stages.slice(0, -1).some((earlier) => earlier.name === from)) {
      problems.push(`COPY --from=${from} is not an earlier stage of this Dockerfile`)
    }
  }
  return problems
}
