// The baseline of the gateway benchmark: a Fastify route that parses the same JSON body with
// Fastify's own parser and answers 202, and nothing else (no signature, no schema, no NATS).
import Fastify from 'fastify'

const port = Number(process.env.PORT ?? 0)
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 })
app.get('/readyz', async () => ({ status: 'ready' }))
app.post('/webhooks/calcom/:tenantId', async (request, reply) => {
  const body = request.body as { triggerEvent?: unknown }
  return reply.code(202).send({ status: 'accepted', trigger: typeof body?.triggerEvent })
})
await app.listen({ host: '127.0.0.1', port })
const stop = () => void app.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
