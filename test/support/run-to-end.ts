import { spawn } from 'node:child_process'

/**
 * Runs a command to its end without blocking this process (which may be serving what the command
 * calls), with stdout and stderr collected in the order they came.
 */
export function runToEnd(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    child.on('error', reject)
    // After both streams are drained, unlike `exit`.
    child.on('close', (code) => resolve({ code, output }))
  })
}
