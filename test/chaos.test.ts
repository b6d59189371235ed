// The short variant of `npm run chaos` inside `npm test`: a few hundred changes with one SIGKILL of
// every service instance and one restart each of NATS and the database; every figure must be 0.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const CHANGES = process.env.CALSYNC_CHAOS_CHANGES ?? '250'

function runChaos(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/chaos/chaos.ts'], {
      cwd: root,
      // Two clients: the rest of the suite shares the machine, and overload 503s would be noise here.
      env: { ...process.env, CALSYNC_CHAOS_CHANGES: CHANGES, CALSYNC_CHAOS_KILLS: '1', CALSYNC_CHAOS_CLIENTS: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    child.on('exit', (code) => resolve({ code, output }))
  })
}

describe('npm run chaos, short', () => {
  it(
    `${CHANGES} changes through kills and restarts: every figure 0`,
    async () => {
      const { code, output } = await runChaos()
      process.stdout.write(output)
      // One line per figure: its label, two or more spaces, its count.
      const figures = output
        .split('\n')
        .map((line) => /^([^[].*?)\s{2,}(\d+)/.exec(line))
        .filter((match) => match !== null && match[1] !== 'changes accepted')
        .map((match) => `${match?.[1]}: ${match?.[2]}`)
      expect(figures.length, output).toBeGreaterThanOrEqual(8)
      for (const figure of figures) expect(figure, output).toMatch(/: 0$/)
      // At least one SIGKILL of each of the eight instances.
      expect(Number(/kill -9: (\d+)/.exec(output)?.[1] ?? 0), output).toBeGreaterThanOrEqual(8)
      expect(output).toContain('restarts: NATS 1, database 1')
      expect(code, output).toBe(0)
    },
    15 * 60_000,
  )
})
