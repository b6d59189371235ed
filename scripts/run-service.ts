// `npm run service -- <name>`: runs one service in the foreground, as a process manager would.
// The container image names the service in CALSYNC_SERVICE instead, which its healthcheck reads too.
import { findService, SERVICES } from './services.ts'

const name = process.argv[2] ?? process.env.CALSYNC_SERVICE
const service = name ? findService(name) : undefined
if (!service) {
  console.error(`usage: npm run service -- <${SERVICES.map((entry) => entry.name).join('|')}> (or CALSYNC_SERVICE)`)
  process.exit(2)
}
await import(new URL(`../${service.entry}`, import.meta.url).href)
