// `npm run resync -- --older-than 10m [--dry-run] [--status failed,pending] [--url …] [--token …]`:
// asks a running review service to re-drive stuck syncs (POST /v1/resync) and prints its answer.
import { parseArgs } from 'node:util'
import { RESYNC_STATUSES } from '@calsync/contracts'

type Env = Record<string, string | undefined>
type ResyncStatus = (typeof RESYNC_STATUSES)[number]

export const USAGE = `usage: npm run resync -- --older-than <age> [--dry-run] [--status <list>] [--url <url>] [--token <token>]

Re-drives the Cal.com sync of appointments whose sync is still pending or failed after <age>,
through a running review service (POST /v1/resync), and prints its JSON answer.

  --older-than <age>  required: seconds (0, 90) or a duration (90s, 10m, 2h, 1d)
  --dry-run           only list what would be re-driven
  --status <list>     comma list of ${RESYNC_STATUSES.join(', ')} (default: pending,failed)
  --url <url>         the review service (default: http://127.0.0.1:$REVIEW_PORT, port 8083)
  --token <token>     bearer token (default: $CALSYNC_ADMIN_TOKEN; the variable keeps it out of ps)
  -h, --help          this text

Exit codes: 0 done, 1 the service refused or could not be reached, 2 bad arguments.
`

export interface ResyncCliArgs {
  olderThanSeconds: number
  dryRun: boolean
  statuses: ResyncStatus[] | undefined
  url: string
  token: string
}

export class UsageError extends Error {
  override name = 'UsageError'
}

const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

export function parseAge(text: string): number {
  const match = /^(\d{1,9})(s|m|h|d)?$/.exec(text.trim())
  if (!match) throw new UsageError(`--older-than "${text}" is not an age like 0, 90s, 10m, 2h or 1d`)
  return Number(match[1]) * (SECONDS[match[2] ?? 's'] as number)
}

function parseStatuses(text: string): ResyncStatus[] {
  const statuses = text.split(',').map((status) => status.trim())
  for (const status of statuses) {
    if (!(RESYNC_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(`--status "${status}" is not one of ${RESYNC_STATUSES.join(', ')}`)
    }
  }
  return [...new Set(statuses)] as ResyncStatus[]
}

function parseUrl(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`--url "${text}" is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be http or https')
  return url.href.replace(/\/+$/, '')
}

/** The arguments, or 'help'; throws `UsageError` naming what is wrong. */
export function parseResyncArgs(argv: string[], env: Env): ResyncCliArgs | 'help' {
  let values: Record<string, string | boolean | undefined>
  try {
    ;({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'older-than': { type: 'string' },
        'dry-run': { type: 'boolean' },
        status: { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  if (values.help) return 'help'
  const olderThan = values['older-than']
  if (typeof olderThan !== 'string') throw new UsageError('--older-than is required')
  const olderThanSeconds = parseAge(olderThan)
  const statuses = typeof values.status === 'string' ? parseStatuses(values.status) : undefined
  const port = env.REVIEW_PORT?.trim() || '8083'
  const url = parseUrl(typeof values.url === 'string' ? values.url : `http://127.0.0.1:${port}`)
  const token = (typeof values.token === 'string' ? values.token : env.CALSYNC_ADMIN_TOKEN)?.trim()
  if (!token) throw new UsageError('no token: set CALSYNC_ADMIN_TOKEN or pass --token')
  return { olderThanSeconds, dryRun: values['dry-run'] === true, statuses, url, token }
}

export interface CliIo {
  out(text: string): void
  err(text: string): void
}

/** Runs the command; resolves to the exit code. */
export async function runResyncCli(argv: string[], env: Env, io: CliIo): Promise<number> {
  let args: ResyncCliArgs | 'help'
  try {
    args = parseResyncArgs(argv, env)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    io.err(`resync: ${error.message}\n\n${USAGE}`)
    return 2
  }
  if (args === 'help') {
    io.out(USAGE)
    return 0
  }
  const endpoint = `${args.url}/v1/resync`
  let response: Response
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${args.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        olderThanSeconds: args.olderThanSeconds,
        ...(args.statuses ? { statuses: args.statuses } : {}),
        dryRun: args.dryRun,
      }),
      signal: AbortSignal.timeout(30_000),
    })
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause
    io.err(`resync: cannot reach the review service at ${endpoint}: ${cause?.message ?? (error as Error).message}\n`)
    return 1
  }
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  if (!response.ok) {
    const detail =
      body && typeof body === 'object' && 'error' in body
        ? `${String((body as { error: unknown }).error)}: ${String((body as { message?: unknown }).message ?? '')}`
        : text.slice(0, 500)
    io.err(`resync: the review service answered HTTP ${response.status} (${detail})\n`)
    return 1
  }
  io.out(`${JSON.stringify(body ?? text, null, 2)}\n`)
  return 0
}

if (import.meta.main) {
  process.exitCode = await runResyncCli(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  })
}
