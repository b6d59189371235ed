import { Agent, createServer, type IncomingHttpHeaders, request } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A load balancer in front of several instances of one HTTP service: each request goes to the
 * next target in turn, with its method, headers and raw body unchanged (a webhook signature is
 * over the exact bytes), and the target's answer is piped back as it came.
 */
export async function startRoundRobinForwarder(targets: readonly string[]) {
  if (targets.length === 0) throw new Error('the forwarder needs at least one target')
  const agent = new Agent({ keepAlive: true })
  let next = 0
  /** Requests forwarded to each target, by index. */
  const forwarded = targets.map(() => 0)
  const server = createServer((incoming, outgoing) => {
    const index = next++ % targets.length
    forwarded[index] = (forwarded[index] ?? 0) + 1
    const target = new URL(incoming.url ?? '/', targets[index])
    const chunks: Buffer[] = []
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
    incoming.on('end', () => {
      const headers: IncomingHttpHeaders = { ...incoming.headers, host: target.host }
      const upstream = request(target, { method: incoming.method, headers, agent }, (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(outgoing)
      })
      // A target that is down answers 502, as a load balancer would, instead of hanging the caller.
      upstream.on('error', (error) => {
        if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' })
        outgoing.end(`forwarder: ${error.message}`)
      })
      upstream.end(Buffer.concat(chunks))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    forwarded,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Callers keep connections alive; closing must not wait for them.
      server.closeAllConnections()
      agent.destroy()
      await closed
    },
  }
}

export type RoundRobinForwarder = Awaited<ReturnType<typeof startRoundRobinForwarder>>
