// `npm run service -- <name>`: runs one service in the foreground, as a process manager would.
const SERVICES = ['webhook-gateway', 'appointments', 'calcom-sync', 'review'] as const

const name = process.argv[2]
if (!name || !(SERVICES as readonly string[]).includes(name)) {
  console.error(`usage: npm run service -- <${SERVICES.join('|')}>`)
  process.exit(2)
}
await import(new URL(`../services/${name}/src/main.ts`, import.meta.url).href)
