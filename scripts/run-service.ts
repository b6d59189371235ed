// `npm run service -- <name>`: runs one service in the foreground, as a process manager would.
const SERVICES = ['webhook-gateway', 'appointments', 'calcom-sync', 'review', 'calcom-sandbox'] as const

const name = process.argv[2]
if (!name || !(SERVICES as readonly string[]).includes(name)) {
  console.error(`usage: npm run service -- <${SERVICES.join('|')}>`)
  process.exit(2)
}
const entry = name === 'calcom-sandbox' ? '../packages/calcom-sandbox/src/main.ts' : `../services/${name}/src/main.ts`
await import(new URL(entry, import.meta.url).href)
