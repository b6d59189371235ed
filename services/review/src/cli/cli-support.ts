// What the review service's command-line clients (resync, reconcile) share: their arguments,
// where the service is, the token, and one POST whose JSON answer is printed.
import { parseArgs } from 'node:util'

export type Env = Record<string, string | undefined>

export class UsageError extends Error {
  override name = 'UsageError'
}

export interface CliIo {
  out(text: string): void
  err(text: string): void
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

type Options = Record<string, { type: 'string' | 'boolean' }>

/** The command's own options plus `--url`, `--token` and `-h/--help`; a mistake is a `UsageError`. */
export function parseCliArgs(argv: string[], own: Options): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...own,
        url: { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values as Record<string, string | boolean | undefined>
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

/** `--url` (default: the local review port) and `--token` (default: `$CALSYNC_ADMIN_TOKEN`, kept out of ps). */
export function reviewTarget(values: Record<string, unknown>, env: Env): { url: string; token: string } {
  const port = env.REVIEW_PORT?.trim() || '8083'
  const url = parseUrl(typeof values.url === 'string' ? values.url : `http://127.0.0.1:${port}`)
  const token = (typeof values.token === 'string' ? values.token : env.CALSYNC_ADMIN_TOKEN)?.trim()
  if (!token) throw new UsageError('no token: set CALSYNC_ADMIN_TOKEN or pass --token')
  return { url, token }
}

/** POSTs `body`; prints the JSON answer and resolves 0, or explains the failure and resolves 1. */
export async function postToReview(options: {
  name: string
  endpoint: string
  token: string
  body: unknown
  timeoutMs: number
  io: CliIo
}): Promise<number> {
  const { name, endpoint, io } = options
  let response: Response
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs),
    })
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause
    io.err(`${name}: cannot reach the review service at ${endpoint}: ${cause?.message ?? (error as Error).message}\n`)
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
    io.err(`${name}: the review service answered HTTP ${response.status} (${detail})\n`)
    return 1
  }
  io.out(`${JSON.stringify(body ?? text, null, 2)}\n`)
  return 0
}

/**
 * A review client's whole run: parse (a `UsageError` prints it with the usage, exit 2), `--help`
 * (the usage, exit 0), or the POST the arguments describe.
 */
export async function runReviewCli<A extends { url: string; token: string }>(options: {
  name: string
  usage: string
  parse: () => A | 'help'
  request: (args: A) => { path: string; body: unknown; timeoutMs: number }
  io: CliIo
}): Promise<number> {
  const { name, io } = options
  let args: A | 'help'
  try {
    args = options.parse()
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    io.err(`${name}: ${error.message}\n\n${options.usage}`)
    return 2
  }
  if (args === 'help') {
    io.out(options.usage)
    return 0
  }
  const { path, body, timeoutMs } = options.request(args)
  return postToReview({ name, endpoint: `${args.url}${path}`, token: args.token, body, timeoutMs, io })
}
