import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type CalcomSandbox,
  type CalcomSandboxOptions,
  createCalcomSandbox,
  type SandboxTenant,
} from '@calsync/calcom-sandbox'
import { fileLogger } from '../../../../test/support/logs.ts'
import { ACME, BRIGHT, futureSlot, TEST_SECRETS } from '../../../../test/support/tenants.ts'

export { ACME, BRIGHT, futureSlot, TEST_SECRETS }

export const ACME_KEY = TEST_SECRETS.ACME_CALCOM_API_KEY
export const BRIGHT_KEY = TEST_SECRETS.BRIGHT_CALCOM_API_KEY

/** The suite's test tenants as sandbox tenants; their secrets are scanned for in every log. */
export function testTenants(webhookUrls: { acme?: string; bright?: string } = {}): SandboxTenant[] {
  return [
    {
      id: ACME,
      apiKey: ACME_KEY,
      webhookSecret: TEST_SECRETS.ACME_WEBHOOK_SECRET,
      eventTypes: [
        { id: 1001, resource: 'dr-jones', lengthMinutes: 30 },
        { id: 1002, resource: 'hygiene-room', lengthMinutes: 45 },
      ],
      webhookUrl: webhookUrls.acme,
    },
    {
      id: BRIGHT,
      apiKey: BRIGHT_KEY,
      webhookSecret: TEST_SECRETS.BRIGHT_WEBHOOK_SECRET,
      eventTypes: [{ id: 2001, resource: 'dr-patel', lengthMinutes: 30 }],
      webhookUrl: webhookUrls.bright,
    },
  ]
}

export interface Answer {
  status: number
  headers: Headers
  // biome-ignore lint/suspicious/noExplicitAny: envelopes are read field by field in assertions
  body: any
}

export interface CallOptions {
  body?: unknown
  /** The API key to send; null sends no Authorization header. */
  key?: string | null
  /** The cal-api-version to send; null sends none. */
  version?: string | null
  headers?: Record<string, string>
  signal?: AbortSignal
}

export const attendee = { name: 'Marco Lind', email: 'marco@example.org', timeZone: 'Europe/Stockholm' }

/** A sandbox on a random port, with helpers that call it over real HTTP. */
export async function startSandbox(options: Partial<CalcomSandboxOptions> = {}) {
  const sandbox: CalcomSandbox = createCalcomSandbox({
    tenants: testTenants(),
    rateLimitPerMinute: 1000,
    logger: fileLogger('calcom-sandbox-test'),
    ...options,
  })
  await sandbox.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(sandbox.app.server.address() as AddressInfo).port}`

  async function call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers }
    const key = options.key === undefined ? ACME_KEY : options.key
    if (key !== null) headers.authorization = `Bearer ${key}`
    const version = options.version === undefined ? '2024-08-13' : options.version
    if (version !== null) headers['cal-api-version'] = version
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal ? { signal: options.signal } : {}),
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined }
  }

  return {
    sandbox,
    base,
    call,
    book: (start: string, extra: Record<string, unknown> = {}, key?: string) =>
      call('POST', '/v2/bookings', { key, body: { start, eventTypeId: 1001, attendee, ...extra } }),
    cancel: (uid: string, cancellationReason = 'changed plans', key?: string) =>
      call('POST', `/v2/bookings/${uid}/cancel`, { key, body: { cancellationReason } }),
    reschedule: (uid: string, start: string, extra: Record<string, unknown> = {}) =>
      call('POST', `/v2/bookings/${uid}/reschedule`, { body: { start, ...extra } }),
    control: async (method: string, path: string, body?: unknown): Promise<Answer> =>
      call(method, `/_sandbox${path}`, { key: null, version: null, body }),
    close: () => sandbox.app.close(),
  }
}

export type SandboxHarness = Awaited<ReturnType<typeof startSandbox>>

export interface ReceivedWebhook {
  url: string
  headers: IncomingHttpHeaders
  /** The body bytes exactly as they arrived. */
  raw: Buffer
  // biome-ignore lint/suspicious/noExplicitAny: read field by field in assertions
  json: any
}

/** A tiny webhook subscriber on a random port that records every delivery. */
export async function startReceiver() {
  const received: ReceivedWebhook[] = []
  let answer: { status: number; headers?: Record<string, string> } = { status: 200 }
  /** Statuses for the next requests, one each, before `answer` again. */
  const queued: number[] = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const raw = Buffer.concat(chunks)
      received.push({ url: request.url ?? '', headers: request.headers, raw, json: JSON.parse(raw.toString('utf8')) })
      const next = queued.shift()
      response.writeHead(next ?? answer.status, next === undefined ? answer.headers : undefined).end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    base,
    url: (path = '/hooks') => `${base}${path}`,
    received,
    answerWith(status: number, headers?: Record<string, string>) {
      answer = { status, ...(headers ? { headers } : {}) }
      queued.length = 0
    },
    /** The next requests get these statuses, one each; then `answerWith`'s again. */
    answerNext(...statuses: number[]) {
      queued.push(...statuses)
    },
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>

/** An ISO start `minutes` after a future slot, for adjacency and overlap cases. */
export const plusMinutes = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * 60_000).toISOString()
