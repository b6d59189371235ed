import { DemoError } from './demo-error.ts'

export interface JsonAnswer<T> {
  status: number
  body: T
  headers: Headers
}

export interface JsonRequest {
  token?: string | undefined
  body?: unknown
  headers?: Record<string, string>
}

/** One HTTP call with a JSON body and answer; an unreachable server is a DemoError naming the URL. */
export async function requestJson<T = unknown>(
  method: string,
  url: string,
  request: JsonRequest = {},
): Promise<JsonAnswer<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers }
  if (request.token) headers.authorization = `Bearer ${request.token}`
  if (request.body !== undefined) headers['content-type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(url, {
      method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(15_000),
    })
  } catch (error) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is in its cause.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause
    throw new DemoError(`${method} ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`)
  }
  const text = await response.text()
  let body: unknown = text
  try {
    body = text === '' ? undefined : JSON.parse(text)
  } catch {}
  return { status: response.status, body: body as T, headers: response.headers }
}

/** The answer's body when its status is the expected one; otherwise a DemoError quoting the answer. */
export function expectStatus<T>(answer: JsonAnswer<T>, expected: number, what: string): T {
  if (answer.status !== expected) {
    const detail = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body)
    throw new DemoError(`${what}: expected HTTP ${expected}, got ${answer.status}: ${detail?.slice(0, 400)}`)
  }
  return answer.body
}
