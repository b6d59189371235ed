import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingWebhook } from '../../../test/support/calcom-webhooks.ts'
import {
  createConformance,
  expectEveryRouteDocumented,
  fetchValidDocument,
  recordRoutes,
} from '../../../test/support/openapi.ts'
import { ACME, futureSlot } from '../../../test/support/tenants.ts'
import { type GatewayHarness, startGatewayHarness } from './support/gateway-harness.ts'

const ROUTE = '/webhooks/calcom/:tenantId'

describe('the webhook gateway OpenAPI document', () => {
  let gateway: GatewayHarness
  let registered: string[]
  beforeAll(async () => {
    gateway = await startGatewayHarness()
    registered = recordRoutes(gateway.app)
    await gateway.app.ready()
  })
  afterAll(() => gateway.close())

  it('is valid OpenAPI 3.1 and lists exactly the routes the app registers', async () => {
    expect(registered).toContain(`POST ${ROUTE}`)
    await expectEveryRouteDocumented(gateway.app, registered, 'calsync webhook gateway')
  })

  it('describes the raw webhook body as Cal.com JSON while the route still verifies the exact bytes', async () => {
    const document = await fetchValidDocument(gateway.app)
    const operation = document.paths['/webhooks/calcom/{tenantId}']?.post as unknown as {
      requestBody: { content: Record<string, { schema: { anyOf: { properties: Record<string, unknown> }[] } }> }
      responses: Record<string, unknown>
    }
    const schema = operation.requestBody.content['application/json']?.schema
    expect(schema?.anyOf[0]?.properties).toHaveProperty('triggerEvent')
    expect(schema?.anyOf[0]?.properties).toHaveProperty('payload')
    expect(Object.keys(operation.responses).sort()).toEqual(
      ['200', '202', '400', '401', '403', '404', '413', '415', '429', '503'].sort(),
    )

    const expectConforms = createConformance(document)
    const body = JSON.stringify(
      bookingWebhook('BOOKING_CREATED', { uid: `bk-doc-${Date.now()}`, eventTypeId: 1001, start: futureSlot() }),
    )
    // Spaces after the colons: bytes a re-serialised body would not reproduce, signed as sent.
    const raw = body.replaceAll('":', '": ')
    const accepted = await gateway.post(ACME, raw)
    expect(accepted.statusCode, accepted.body).toBe(202)
    expectConforms('POST', ROUTE, accepted)
    expectConforms('POST', ROUTE, await gateway.post(ACME, raw))
    expectConforms('POST', ROUTE, await gateway.post(ACME, raw, { signature: 'sha256=nope' }))
    expectConforms('POST', ROUTE, await gateway.post('no-such-tenant', raw))
    expectConforms('POST', ROUTE, await gateway.post(ACME, raw, { contentType: 'text/plain' }))
    expectConforms('POST', ROUTE, await gateway.post(ACME, JSON.stringify({ triggerEvent: 'PING' })))
  })
})
