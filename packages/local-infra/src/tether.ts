// Runs a command and kills it when our stdin closes, i.e. when the process that started us dies
// for any reason (even SIGKILL). This is what keeps test runs and `npm start` free of orphans.
import { spawn } from 'node:child_process'

const [command, ...args] = process.argv.slice(2)
if (!command) {
  console.error('usage: node tether.ts <command> [args...]')
  process.exit(2)
}
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] })
const stop = (signal: NodeJS.Signals) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill(signal)
  setTimeout(() => child.kill('SIGKILL'), 5000).unref()
}
process.stdin.on('end', () => stop('SIGTERM'))
process.stdin.on('error', () => stop('SIGTERM'))
process.stdin.resume()
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
child.on('error', (error) => {
  console.error(`tether: cannot start ${command}: ${error.message}`)
  process.exit(127)
})
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)))
