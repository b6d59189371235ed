// `npm run reconcile -- [--tenant <id>] [--dry-run] [--url …] [--token …]`: asks a running review
// service for a reconcile pass against Cal.com now (POST /v1/reconcile) and prints its answer.
import { type CliIo, type Env, parseCliArgs, reviewTarget, runReviewCli, UsageError } from './cli-support.ts'

export const USAGE = `usage: npm run reconcile -- [--tenant <id>] [--dry-run] [--url <url>] [--token <token>]

Compares calsync with Cal.com for one tenant (or every tenant) through a running review service
(POST /v1/reconcile) and prints its JSON answer: every difference found and what was done about it.

  --tenant <id>    only this tenant (an operator token may leave it out: every tenant)
  --dry-run        only list the differences and the action each would get; change nothing
  --url <url>      the review service (default: http://127.0.0.1:$REVIEW_PORT, port 8083)
  --token <token>  bearer token (default: $CALSYNC_ADMIN_TOKEN; the variable keeps it out of ps)
  -h, --help       this text

Exit codes: 0 done, 1 the service refused or could not be reached, 2 bad arguments.
`

export interface ReconcileCliArgs {
  tenantId: string | undefined
  dryRun: boolean
  url: string
  token: string
}

export function parseReconcileArgs(argv: string[], env: Env): ReconcileCliArgs | 'help' {
  const values = parseCliArgs(argv, { tenant: { type: 'string' }, 'dry-run': { type: 'boolean' } })
  if (values.help) return 'help'
  const tenant = typeof values.tenant === 'string' ? values.tenant.trim() : undefined
  if (tenant === '') throw new UsageError('--tenant needs a tenant id')
  return { tenantId: tenant, dryRun: values['dry-run'] === true, ...reviewTarget(values, env) }
}

export function runReconcileCli(argv: string[], env: Env, io: CliIo): Promise<number> {
  return runReviewCli({
    name: 'reconcile',
    usage: USAGE,
    parse: () => parseReconcileArgs(argv, env),
    request: (args) => ({
      path: '/v1/reconcile',
      body: { ...(args.tenantId ? { tenantId: args.tenantId } : {}), dryRun: args.dryRun },
      // A pass waits for its share of the Cal.com budget; the service's own limit is 5 minutes.
      timeoutMs: 6 * 60_000,
    }),
    io,
  })
}

if (import.meta.main) {
  process.exitCode = await runReconcileCli(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  })
}
