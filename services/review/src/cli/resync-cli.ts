// `npm run resync -- --older-than 10m [--dry-run] [--status failed,pending] [--url …] [--token …]`:
// asks a running review service to re-drive stuck syncs (POST /v1/resync) and prints its answer.
import { RESYNC_STATUSES } from '@calsync/contracts'
import { type CliIo, type Env, parseCliArgs, reviewTarget, runReviewCli, UsageError } from './cli-support.ts'

export { type CliIo, UsageError }

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

/** The arguments, or 'help'; throws `UsageError` naming what is wrong. */
export function parseResyncArgs(argv: string[], env: Env): ResyncCliArgs | 'help' {
  const values = parseCliArgs(argv, {
    'older-than': { type: 'string' },
    'dry-run': { type: 'boolean' },
    status: { type: 'string' },
  })
  if (values.help) return 'help'
  const olderThan = values['older-than']
  if (typeof olderThan !== 'string') throw new UsageError('--older-than is required')
  const olderThanSeconds = parseAge(olderThan)
  const statuses = typeof values.status === 'string' ? parseStatuses(values.status) : undefined
  return { olderThanSeconds, dryRun: values['dry-run'] === true, statuses, ...reviewTarget(values, env) }
}

/** Runs the command; resolves to the exit code. */
export function runResyncCli(argv: string[], env: Env, io: CliIo): Promise<number> {
  return runReviewCli({
    name: 'resync',
    usage: USAGE,
    parse: () => parseResyncArgs(argv, env),
    request: (args) => ({
      path: '/v1/resync',
      body: {
        olderThanSeconds: args.olderThanSeconds,
        ...(args.statuses ? { statuses: args.statuses } : {}),
        dryRun: args.dryRun,
      },
      timeoutMs: 30_000,
    }),
    io,
  })
}

if (import.meta.main) {
  process.exitCode = await runResyncCli(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  })
}
