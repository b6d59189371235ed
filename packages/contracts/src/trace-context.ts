import { type Context, context, propagation, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api'

/** The part of NATS `MsgHdrs` the helpers need, so this package stays free of the client. */
export interface HeaderCarrier {
  get(key: string): string
  set(key: string, value: string): void
  keys(): string[]
}

const setter: TextMapSetter<HeaderCarrier> = {
  set: (carrier, key, value) => carrier.set(key, value),
}

// nats.js looks headers up case-sensitively; W3C says field names are case-insensitive.
const getter: TextMapGetter<HeaderCarrier> = {
  keys: (carrier) => carrier.keys(),
  get: (carrier, key) => {
    const wanted = key.toLowerCase()
    const found = carrier.keys().find((name) => name.toLowerCase() === wanted)
    return found === undefined ? undefined : carrier.get(found)
  },
}

/** Writes `traceparent`/`tracestate` of the given (default: active) context into the headers. */
export function injectTraceContext(headers: HeaderCarrier, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, setter)
}

/** Reads the publisher's trace context from message headers (absent → the given base context). */
export function extractTraceContext(headers: HeaderCarrier | undefined, base: Context = context.active()): Context {
  return headers ? propagation.extract(base, headers, getter) : base
}
