import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testInstances } from './support/instances.ts'
import { type RoundRobinForwarder, startRoundRobinForwarder } from './support/round-robin-forwarder.ts'

describe('the two-instances switch and its forwarder', () => {
  it('reads CALSYNC_TEST_INSTANCES as 1 or 2 and rejects anything else by name', () => {
    expect([testInstances(undefined), testInstances(''), testInstances('1'), testInstances('2')]).toEqual([1, 1, 1, 2])
    for (const wrong of ['3', '0', 'two', ' 2']) expect(() => testInstances(wrong)).toThrow(/CALSYNC_TEST_INSTANCES/)
  })

  const targets: Server[] = []
  let forwarder: RoundRobinForwarder
  beforeAll(async () => {
    for (const name of ['a', 'b']) {
      // Each target echoes what it received, so the test sees exactly what was forwarded.
      const server = createServer((request, response) => {
        const chunks: Buffer[] = []
        request.on('data', (chunk: Buffer) => chunks.push(chunk))
        request.on('end', () => {
          response.writeHead(202, { 'content-type': 'application/json', 'x-target': name })
          const body = Buffer.concat(chunks).toString('latin1')
          response.end(JSON.stringify({ method: request.method, url: request.url, headers: request.headers, body }))
        })
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      targets.push(server)
    }
    forwarder = await startRoundRobinForwarder(
      targets.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    )
  })
  afterAll(async () => {
    await forwarder?.close()
    for (const server of targets) await new Promise((resolve) => server.close(resolve))
  })

  it('sends each request to the next target with method, path, headers and raw body, and pipes the answer back', async () => {
    const raw = Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d, 0x0a])
    const answers = []
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${forwarder.url}/webhooks/calcom/acme-dental?i=${i}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-cal-signature-256': `sig-${i}` },
        body: raw,
      })
      answers.push({ status: response.status, target: response.headers.get('x-target'), echo: await response.json() })
    }
    expect(answers.map((answer) => answer.target)).toEqual(['a', 'b', 'a', 'b'])
    expect(forwarder.forwarded).toEqual([2, 2])
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(202)
      expect(answer.echo).toMatchObject({
        method: 'POST',
        url: `/webhooks/calcom/acme-dental?i=${i}`,
        headers: { 'content-type': 'application/json', 'x-cal-signature-256': `sig-${i}` },
        body: raw.toString('latin1'),
      })
    }
  })
})
