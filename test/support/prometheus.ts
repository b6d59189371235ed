import { expect } from 'vitest'
import { parsePrometheusText, type Scrape } from '../../scripts/lib/prometheus-text.ts'

export { parsePrometheusText, type Sample, type Scrape } from '../../scripts/lib/prometheus-text.ts'

/** What scraping needs of a Fastify app (this folder does not depend on fastify itself). */
interface Injectable {
  inject(options: { method: 'GET'; url: string }): Promise<{
    statusCode: number
    headers: Record<string, unknown>
    body: string
  }>
}

/** `GET /metrics` through inject(): checks the answer is Prometheus text and parses it. */
export async function scrapeApp(app: Injectable): Promise<Scrape> {
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  expect(response.statusCode).toBe(200)
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
  return parsePrometheusText(response.body)
}

/** `GET <baseUrl>/metrics` over HTTP, for services running as processes. */
export async function scrapeUrl(baseUrl: string): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return parsePrometheusText(await response.text())
}
