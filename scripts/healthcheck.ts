// Container healthcheck (Dockerfile HEALTHCHECK, docker-compose.yml): asks the service named by
// CALSYNC_SERVICE for /readyz on its port. Exit 0 = healthy, 1 = unhealthy, as Docker expects;
// what went wrong goes to stderr, which `docker inspect` keeps in the container's health log.
import { findService } from './services.ts'

/** Below the HEALTHCHECK timeout, so a hung service is reported here rather than killed silently. */
const REQUEST_TIMEOUT_MS = 4000
/** Listening on every interface means reachable on loopback. */
const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::'])

async function probe(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const name = env.CALSYNC_SERVICE?.trim() ?? ''
  const service = findService(name)
  if (!service) return `CALSYNC_SERVICE must name a calsync service, got "${name}"`
  const port = env[service.portVariable]?.trim() || String(service.port)
  const listen = env.HOST?.trim() ?? ''
  const host = WILDCARD_HOSTS.has(listen) ? '127.0.0.1' : listen.includes(':') ? `[${listen}]` : listen
  const url = `http://${host}:${port}/readyz`
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    if (response.ok) return undefined
    return `${service.name} ${url} answered ${response.status}: ${(await response.text()).slice(0, 500)}`
  } catch (error) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is in its cause.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause
    return `${service.name} ${url} did not answer: ${cause?.code ?? cause?.message ?? (error as Error).message}`
  }
}

const problem = await probe(process.env)
if (problem) console.error(problem)
process.exit(problem ? 1 : 0)
