// The Dockerfile and .dockerignore, checked without Docker: what the build copies exists and
// reaches the context, the install is the lockfile's production set, and the final stage runs
// unprivileged with a healthcheck and no package manager.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { SERVICES } from '../../scripts/services.ts'
import { parseDockerfile } from './support/dockerfile.ts'
import {
  baseImageProblems,
  contextProblems,
  type DockerBuild,
  dependencyProblems,
  installedManifests,
  installProblems,
  runtimeFileProblems,
  runtimeStageProblems,
} from './support/dockerfile-checks.ts'
import { createDockerignore } from './support/dockerignore.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8')
const dockerfile = read('Dockerfile')
const nodeVersion = (JSON.parse(read('tools/versions.json')) as { node: string }).node
const pnpmVersion = (JSON.parse(read('package.json')) as { packageManager: string }).packageManager.replace('pnpm@', '')
/** What the CMD and HEALTHCHECK run, and what those import. */
const ENTRY_SCRIPTS = ['scripts/run-service.ts', 'scripts/healthcheck.ts', 'scripts/services.ts']

function buildOf(text: string, dockerignore = read('.dockerignore')): DockerBuild {
  return { stages: parseDockerfile(text), ignored: createDockerignore(dockerignore), root }
}

describe('Dockerfile', () => {
  const build = buildOf(dockerfile)
  const final = build.stages.at(-1)

  it('builds from base images pinned to the Node version the tests run on', () => {
    expect(baseImageProblems(build, nodeVersion)).toEqual([])
    expect(build.stages.length).toBeGreaterThan(1)
  })

  it('copies only paths that exist and that .dockerignore lets into the context', () => {
    expect(contextProblems(build)).toEqual([])
  })

  it('installs production dependencies from the lockfile with the pinned pnpm', () => {
    expect(installProblems(build, pnpmVersion)).toEqual([])
  })

  it('installs none of the dev tools (vitest, playwright-core, testcontainers…) and every workspace package needed', () => {
    expect(dependencyProblems(build)).toEqual([])
    expect(installedManifests(build)).not.toContain('packages/local-infra/package.json')
  })

  it('gives the final stage every installed package source and the scripts its commands run', () => {
    expect(runtimeFileProblems(build, ENTRY_SCRIPTS)).toEqual([])
    for (const service of SERVICES) {
      const folder = service.entry.replace(/\/main\.ts$/, '')
      expect(
        final?.instructions.some((item) => item.keyword === 'COPY' && item.args[0] === folder),
        folder,
      ).toBe(true)
    }
  })

  it('listens on every interface inside the container, where the default would be loopback', () => {
    const env = final?.instructions.filter((item) => item.keyword === 'ENV').flatMap((item) => item.args)
    expect(env).toContain('HOST=0.0.0.0')
  })

  it('runs as a non-root user with a healthcheck, stops on SIGTERM and carries no package manager', () => {
    expect(runtimeStageProblems(build)).toEqual([])
    const command = final?.instructions.filter((item) => item.keyword === 'CMD').at(-1)
    expect(command?.args).toEqual(['node', 'scripts/run-service.ts'])
    const healthcheck = final?.instructions.find((item) => item.keyword === 'HEALTHCHECK')
    expect(healthcheck?.args).toEqual(['CMD', 'node', 'scripts/healthcheck.ts'])
    expect(healthcheck?.flags).toMatchObject({ interval: expect.any(String), timeout: expect.any(String) })
  })
})

describe('.dockerignore', () => {
  const ignored = createDockerignore(read('.dockerignore'))

  it('keeps local state, tooling, secrets and tests out of the build context', () => {
    for (const path of [
      'node_modules/vitest/package.json',
      'services/review/node_modules/fastify/package.json',
      '.tools/node/package.json',
      '.data/nats/jetstream',
      'test-artifacts/logs/x.log',
      '.git/HEAD',
      '.env',
      'test/npm-start.test.ts',
      'services/review/test/support/review-harness.ts',
      'packages/local-infra/src/index.ts',
    ]) {
      expect(ignored(path), path).toBe(true)
    }
  })

  it('lets in the manifests, the lockfile and the service sources', () => {
    for (const path of [
      'package.json',
      'pnpm-lock.yaml',
      '.npmrc',
      'packages/service-kit/src/tenants/tenants-file.ts',
      'services/review/src/dashboard/dashboard.html',
      'services/appointments/package.json',
    ]) {
      expect(ignored(path), path).toBe(false)
    }
  })
})

describe('the Dockerfile checks catch a broken file', () => {
  const edit = (from: string | RegExp, to: string) => {
    const text = dockerfile.replace(from, to)
    expect(text, `the Dockerfile no longer contains ${from}`).not.toBe(dockerfile)
    return buildOf(text)
  }

  it('a floating base image', () => {
    expect(baseImageProblems(edit(/FROM node:[^ ]+ AS runtime/, 'FROM node:24-slim AS runtime'), nodeVersion)).toEqual([
      'FROM node:24-slim is not pinned to a version',
      `FROM node:24-slim is not the Node ${nodeVersion} the tests run on (tools/versions.json)`,
    ])
  })

  it('a copy of something missing or left out of the context', () => {
    expect(
      contextProblems(edit('COPY scripts/run-service.ts', 'COPY scripts/missing.ts scripts/run-service.ts')),
    ).toEqual(['COPY scripts/missing.ts: no such path in the repository'])
    expect(contextProblems(edit('USER node', 'COPY test/support test/support/\nUSER node'))[0]).toMatch(
      /^COPY test\/support: \.dockerignore leaves out test\/support\//,
    )
  })

  it('an install that ignores the lockfile or brings the dev dependencies', () => {
    expect(installProblems(edit('--frozen-lockfile --prod', '--prod'), pnpmVersion)).toEqual([
      'pnpm install does not use --frozen-lockfile',
    ])
    expect(installProblems(edit('--frozen-lockfile --prod', '--frozen-lockfile'), pnpmVersion)).toEqual([
      'pnpm install does not use --prod',
    ])
    const withInfra = edit(
      'COPY packages/contracts/package.json',
      'COPY packages/local-infra/package.json packages/local-infra/\nCOPY packages/contracts/package.json',
    )
    expect(dependencyProblems(withInfra)).toEqual([
      'packages/local-infra/package.json installs testcontainers for production',
    ])
    expect(dependencyProblems(edit(/COPY packages\/service-kit\/package\.json .*\n/, ''))).toContain(
      'packages/calcom-sandbox/package.json needs @calsync/service-kit, whose manifest the install stage does not copy',
    )
  })

  it('a final stage without a service source, as root, without a healthcheck, or with a package manager', () => {
    expect(runtimeFileProblems(edit(/COPY services\/review\/src .*\n/, ''), ENTRY_SCRIPTS)).toEqual([
      'the final stage does not copy services/review/src',
    ])
    expect(runtimeStageProblems(edit('USER node', 'USER root'))).toEqual(['the final stage runs as root'])
    expect(runtimeStageProblems(edit(/USER node\n/, ''))).toEqual(['the final stage runs as root (no USER)'])
    expect(runtimeStageProblems(edit(/HEALTHCHECK .*\n/, ''))).toEqual(['the final stage has no HEALTHCHECK'])
    expect(runtimeStageProblems(edit('USER node', 'RUN npm install --global pnpm\nUSER node'))).toEqual([
      'the final stage installs packages: RUN npm install --global pnpm',
    ])
  })
})
