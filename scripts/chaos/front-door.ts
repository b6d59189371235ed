// What stands in front of the two gateways: the address Cal.com (the sandbox) sends webhooks to.
// Like an ingress with retries it takes a delivery to the other instance when one is down or
// answers 503; that is safe because the gateway deduplicates deliveries by their body. Cal.com
// itself tries once, so without this a webhook sent while both gateways are down is lost.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AnswerLog } from './answers.ts'

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'keep-alive', 'transfer-encoding'])
/** How long a delivery is retried before the door gives up and answers 502. */
const GIVE_UP_MS = 120_000

export interface FrontDoorStats {
  delivered: number
  retried: number
  gaveUp: number
}

export async function startFrontDoor(options: { port: number; upstreams: () => string[]; answers: AnswerLog }) {
  const stats: FrontDoorStats = { delivered: 0, retried: 0, gaveUp: 0 }
  let turn = 0
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  async function forward(request: IncomingMessage, response: ServerResponse) {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const headers: Record<string, string> = {}
    for (const [key, value] of Object.entries(request.headers)) {
      if (!HOP_BY_HOP.has(key) && typeof value === 'string') headers[key] = value
    }
    const deadline = Date.now() + GIVE_UP_MS
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const upstreams = options.upstreams()
      const upstream = upstreams[turn++ % Math.max(1, upstreams.length)]
      if (upstream) {
        try {
          const answer = await fetch(`${upstream}${request.url}`, {
            method: request.method,
            headers,
            body,
            signal: AbortSignal.timeout(15_000),
          })
          const text = await answer.text()
          options.answers.record('webhook-gateway', answer.status)
          if (answer.status !== 503) {
            stats.delivered++
            response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' })
            response.end(text)
            return
          }
        } catch {
          // Refused or cut off: that instance is down (or was killed mid-request); try the next.
        }
      }
      stats.retried++
      await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)))
    }
    stats.gaveUp++
    response.writeHead(502, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ error: 'bad_gateway', message: 'no gateway took the delivery' }))
  }

  const server = createServer((request, response) => {
    forward(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(502)
      response.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve))
  return {
    stats,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
