import {
  BOOKING_TRIGGERS,
  CalcomBookingWebhook,
  CalcomNoShowWebhook,
  createSchemaCheck,
  ERROR_CODES,
  type ErrorCode,
  formatIssues,
  NO_SHOW_TRIGGER,
  TENANT_ID_PATTERN,
} from '@calsync/contracts'
import { parseInstant, type TenantRegistry, toErrorResponse, type WebhookActivity } from '@calsync/service-kit'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { GatewayMetrics } from '../metrics.ts'
import { deliveryIdOf } from './delivery-id.ts'
import { parseJsonBody } from './json-body.ts'
import { ownershipOf } from './ownership.ts'
import type { RateLimiter } from './rate-limiter.ts'
import type { ReplayWindow } from './replay-window.ts'
import { verifyCalcomSignature } from './signature.ts'
import type { WebhookPublisher } from './webhook-publisher.ts'
import { documentWebhookRoute } from './webhook-route-docs.ts'

/** DESIGN §4.3: larger bodies are refused with 413 before any other check. */
export const WEBHOOK_BODY_LIMIT_BYTES = 256 * 1024

export interface WebhookRoutesDeps {
  tenants: TenantRegistry
  publisher: WebhookPublisher
  /** Where accepted deliveries are noted per tenant, so the reconciler can tell webhook silence. */
  activity: WebhookActivity
  rateLimiter: RateLimiter
  replayWindow: ReplayWindow
  metrics: GatewayMetrics
}

const checkWebhook = createSchemaCheck(CalcomBookingWebhook)
const checkNoShow = createSchemaCheck(CalcomNoShowWebhook)
const TENANT_ID = new RegExp(TENANT_ID_PATTERN)
const SIGNATURE_MESSAGES = {
  [ERROR_CODES.missingSignature]: 'X-Cal-Signature-256 is missing; give the Cal.com webhook a secret',
  [ERROR_CODES.invalidSignature]: 'X-Cal-Signature-256 does not match the body',
} as const

function isBookingTrigger(trigger: string): boolean {
  return (BOOKING_TRIGGERS as readonly string[]).includes(trigger)
}

/**
 * The schema's `date-time` lets through leap seconds and 30 February; stored, such a time would
 * crash whoever later turns it into a Date, so the delivery is refused here instead.
 */
function unreadableInstant(webhook: CalcomBookingWebhook): string | undefined {
  const instants: [string, string][] = [
    ['createdAt', webhook.createdAt],
    ['payload.startTime', webhook.payload.startTime],
    ['payload.endTime', webhook.payload.endTime],
  ]
  return instants.find(([, text]) => parseInstant(text) === undefined)?.[0]
}

/**
 * `POST /webhooks/calcom/:tenantId` (DESIGN §4.3). Checks run cheapest-and-safest first: nothing
 * is parsed before the signature holds, and 2xx means JetStream has stored the delivery (I3).
 * Never answers 410, which would make Cal.com switch the subscription off.
 */
export async function webhookRoutes(app: FastifyInstance, deps: WebhookRoutesDeps) {
  const { metrics } = deps
  /** `logged`: the caller wrote its own line about this refusal already. */
  function refuse(reply: FastifyReply, statusCode: number, error: ErrorCode, message: string, logged = false) {
    metrics.rejected(error)
    if (!logged) reply.log.info({ statusCode, error }, 'cal.com webhook refused')
    return reply.code(statusCode).send({ error, message })
  }
  // Refusals Fastify decides before the handler runs (413, 415, unreadable bodies) and crashes.
  app.addHook('onError', async (request, _reply, error) => {
    const { statusCode, body } = toErrorResponse(error)
    metrics.rejected(body.error)
    if (statusCode < 500) request.log.info({ statusCode, error: body.error }, 'cal.com webhook refused')
  })

  // The signature covers the exact bytes sent; re-serialised JSON would not reproduce them.
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT_BYTES },
    (_request, body, done) => done(null, body),
  )

  // Every outcome below writes its own line: the access line would only repeat it.
  app.post(
    '/webhooks/calcom/:tenantId',
    { config: { accessLog: false, swaggerTransform: documentWebhookRoute } },
    async (request, reply) => {
      const raw = request.body
      if (!Buffer.isBuffer(raw)) {
        return refuse(reply, 415, ERROR_CODES.unsupportedMediaType, 'the body must be application/json')
      }
      const { tenantId } = request.params as { tenantId: string }
      const tenant = TENANT_ID.test(tenantId) ? deps.tenants.get(tenantId) : undefined
      if (!tenant) return refuse(reply, 404, ERROR_CODES.unknownTenant, 'no tenant has this id')
      // Every line below carries tenantId, including the cross-tenant audit line.
      const log = request.log.child({ tenantId })

      const signature = verifyCalcomSignature(raw, request.headers['x-cal-signature-256'], tenant.calcom.webhookSecret)
      if (!signature.ok) {
        log.warn({ reason: signature.code }, 'cal.com webhook signature refused')
        return refuse(reply, 401, signature.code, SIGNATURE_MESSAGES[signature.code], true)
      }

      // Counted only once signed, so nobody without the secret can spend a tenant's budget.
      const rate = deps.rateLimiter.take(tenantId)
      if (!rate.ok) {
        log.warn({ retryAfterSeconds: rate.retryAfterSeconds }, 'cal.com webhook rate limited')
        reply.header('retry-after', String(rate.retryAfterSeconds))
        return refuse(reply, 429, ERROR_CODES.rateLimited, 'too many webhooks for this tenant; retry later', true)
      }

      const parsed = parseJsonBody(raw)
      if (!parsed.ok) return refuse(reply, 400, ERROR_CODES.badRequest, 'the body is not valid JSON')
      const body = parsed.value
      const trigger =
        body !== null && typeof body === 'object' ? (body as { triggerEvent?: unknown }).triggerEvent : null
      // Cal.com's "Ping test" carries a dummy booking without uid or event type (calcom/README.md §4.8).
      // Signed deliveries of any trigger show the subscription works (webhook silence).
      if (trigger === 'PING') {
        metrics.received(tenantId, trigger)
        deps.activity.accepted(tenantId)
        return reply.code(200).send({ status: 'ok' })
      }
      if (trigger === NO_SHOW_TRIGGER) {
        const noShow = checkNoShow.check(body)
        if (!noShow.ok) return refuse(reply, 400, ERROR_CODES.invalidBody, formatIssues(noShow.issues))
        const fresh = deps.replayWindow.check(noShow.value.createdAt)
        if (!fresh.ok) return refuse(reply, 400, fresh.code, fresh.message)
        const deliveryId = deliveryIdOf(tenantId, raw)
        let published: { duplicate: boolean }
        try {
          published = await deps.publisher.noShow(tenantId, deliveryId, noShow.value)
        } catch (error) {
          log.error({ err: error, deliveryId }, 'cal.com webhook could not be queued')
          return refuse(reply, 503, ERROR_CODES.unavailable, 'the webhook could not be queued; retry later', true)
        }
        metrics.received(tenantId, trigger)
        deps.activity.accepted(tenantId)
        log.info(
          { trigger, bookingUid: noShow.value.payload.bookingUid, deliveryId },
          'cal.com no-show update accepted',
        )
        return reply
          .code(published.duplicate ? 200 : 202)
          .send({ status: published.duplicate ? 'duplicate' : 'accepted', deliveryId })
      }
      if (typeof trigger === 'string' && !isBookingTrigger(trigger)) {
        log.info({ trigger: trigger.slice(0, 64) }, 'cal.com webhook trigger ignored')
        metrics.received(tenantId, trigger)
        deps.activity.accepted(tenantId)
        return reply.code(200).send({ status: 'ignored' })
      }

      const checked = checkWebhook.check(body)
      if (!checked.ok) return refuse(reply, 400, ERROR_CODES.invalidBody, formatIssues(checked.issues))
      const webhook = checked.value
      const badInstant = unreadableInstant(webhook)
      if (badInstant) {
        const message = `${badInstant} must be an RFC 3339 date-time between years 0000 and 9999`
        return refuse(reply, 400, ERROR_CODES.invalidBody, message)
      }
      const fresh = deps.replayWindow.check(webhook.createdAt)
      if (!fresh.ok) {
        log.warn({ createdAt: webhook.createdAt, bookingUid: webhook.payload.uid }, 'stale cal.com webhook refused')
        return refuse(reply, 400, fresh.code, fresh.message, true)
      }

      const { eventTypeId, uid: bookingUid } = webhook.payload
      const ownership = ownershipOf(deps.tenants, tenantId, eventTypeId)
      if (ownership.kind === 'foreign') {
        log.warn({ ownerTenantId: ownership.ownerTenantId, eventTypeId, bookingUid }, 'cross-tenant webhook refused')
        return refuse(reply, 403, ERROR_CODES.foreignEventType, `event type ${eventTypeId} is not this tenant's`, true)
      }

      const deliveryId = deliveryIdOf(tenantId, raw)
      let published: { duplicate: boolean }
      try {
        published =
          ownership.kind === 'own'
            ? await deps.publisher.verified(tenantId, deliveryId, webhook)
            : await deps.publisher.unmapped(tenantId, deliveryId, webhook)
      } catch (error) {
        // Not stored, so not accepted: a 503 lets Cal.com retry (I3); the cause stays in the log.
        log.error({ err: error, deliveryId }, 'cal.com webhook could not be queued')
        return refuse(reply, 503, ERROR_CODES.unavailable, 'the webhook could not be queued; retry later', true)
      }
      const outcome = { trigger: webhook.triggerEvent, eventTypeId, bookingUid, deliveryId, route: ownership.kind }
      metrics.received(tenantId, webhook.triggerEvent)
      deps.activity.accepted(tenantId)
      if (published.duplicate) {
        log.info(outcome, 'duplicate cal.com webhook')
        return reply.code(200).send({ status: 'duplicate', deliveryId })
      }
      log.info(outcome, 'cal.com webhook accepted')
      return reply.code(202).send({ status: 'accepted', deliveryId })
    },
  )
}
