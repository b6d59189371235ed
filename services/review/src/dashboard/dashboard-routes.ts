import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FastifyInstance, FastifySchema } from 'fastify'

/**
 * The page and the CSP that allows exactly its one inline style and one inline script. The style
 * and the script live in files of their own and are inlined here, so the page is one response.
 */
export function loadDashboard(): { html: string; csp: string } {
  const read = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8')
  const html = read('dashboard.html')
    .replace('/* dashboard.css */\n', () => read('dashboard.css'))
    .replace('// dashboard.js\n', () => read('dashboard.js'))
  const hashOf = (tag: string) => {
    const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html)
    if (!match) throw new Error(`dashboard.html has no <${tag}> block`)
    return `'sha256-${createHash('sha256')
      .update(match[1] as string, 'utf8')
      .digest('base64')}'`
  }
  // Hashes instead of 'unsafe-inline': an injected script or style would not run.
  const csp = [
    "default-src 'none'",
    `script-src ${hashOf('script')}`,
    `style-src ${hashOf('style')}`,
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
  return { html, csp }
}

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2f5bea"/>' +
  '<path d="M4 8.5l2.5 2.5L12 5" stroke="#fff" stroke-width="2" fill="none"/></svg>'

/** Public pages: no token (the API calls the page makes carry one). */
function pageSchema(summary: string, contentType: string): FastifySchema {
  return {
    summary,
    tags: ['dashboard'],
    produces: [contentType],
    response: { 200: { type: 'string', description: summary } },
  }
}

/** `GET /`: the operator dashboard. The page itself is public; every API call it makes needs a token. */
export async function dashboardRoutes(app: FastifyInstance) {
  const { html, csp } = loadDashboard()
  app.get('/', { schema: pageSchema('The operator dashboard', 'text/html') }, async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store')
      .send(html),
  )
  app.get('/favicon.svg', { schema: pageSchema('The dashboard’s icon', 'image/svg+xml') }, async (_request, reply) =>
    reply.header('content-type', 'image/svg+xml').header('cache-control', 'max-age=86400').send(FAVICON),
  )
}
