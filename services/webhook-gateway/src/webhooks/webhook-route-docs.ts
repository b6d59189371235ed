import { CalcomBookingWebhook, CalcomNoShowWebhook, TENANT_ID_PATTERN } from '@calsync/contracts'
import { errorResponse, type RouteDocTransform } from '@calsync/service-kit'
import Type from 'typebox'

const DeliveryAnswer = (status: string, description: string) =>
  Type.Object({ status: Type.Literal(status), deliveryId: Type.String() }, { description })

/**
 * The webhook route as the OpenAPI document shows it (DESIGN §4.3). The route itself carries no
 * schema: it takes the body as raw bytes for the signature, and Fastify would validate a Buffer
 * against a body schema. So the schema is given to the document alone.
 */
export const documentWebhookRoute: RouteDocTransform = ({ url }) => ({
  url,
  schema: {
    summary: 'Receive a Cal.com webhook delivery',
    description:
      'The body exactly as Cal.com sent it, signed with the tenant’s webhook secret (HMAC-SHA256 of the raw bytes, hex, in `X-Cal-Signature-256`). Checks run in order: tenant, signature, rate limit, JSON, schema, replay window, event type ownership; 2xx only once JetStream stored the delivery.',
    tags: ['webhooks'],
    params: Type.Object({ tenantId: Type.String({ pattern: TENANT_ID_PATTERN, maxLength: 64 }) }),
    headers: Type.Object({
      'x-cal-signature-256': Type.String({ description: 'Hex HMAC-SHA256 of the raw body under the webhook secret.' }),
    }),
    body: Type.Union(
      [
        CalcomBookingWebhook,
        CalcomNoShowWebhook,
        Type.Object({ triggerEvent: Type.Literal('PING') }, { description: 'Cal.com’s ping test.' }),
      ],
      { description: 'A Cal.com webhook (application/json, at most 256 KiB).' },
    ),
    response: {
      200: Type.Union(
        [
          Type.Object({ status: Type.Literal('ok') }, { description: 'A ping.' }),
          Type.Object({ status: Type.Literal('ignored') }, { description: 'A trigger calsync does not act on.' }),
          DeliveryAnswer('duplicate', 'A delivery accepted before: nothing published twice.'),
        ],
        { description: 'A ping, an ignored trigger, or a duplicate of an accepted delivery.' },
      ),
      202: DeliveryAnswer('accepted', 'Stored in JetStream.'),
      400: errorResponse(
        'Not JSON (`bad_request`), not a webhook calsync understands (`invalid_body`), or outside the replay window (`stale_delivery`).',
      ),
      401: errorResponse('The signature is missing (`missing_signature`) or does not match (`invalid_signature`).'),
      403: errorResponse('The event type belongs to another tenant (`foreign_event_type`).'),
      404: errorResponse('No tenant has this id (`unknown_tenant`).'),
      413: errorResponse('Over 256 KiB (`payload_too_large`).'),
      415: errorResponse('Not `application/json` (`unsupported_media_type`).'),
      429: errorResponse('Over the tenant’s rate limit (`rate_limited`); see `Retry-After`.'),
      503: errorResponse('JetStream could not store it (`unavailable`); Cal.com retries.'),
    },
  },
})
