/**
 * An error the way Cal.com API v2 answers it: `code` is the Nest exception class name
 * (calcom/README.md §3.1).
 */
export class CalcomHttpError extends Error {
  override name = 'CalcomHttpError'
  readonly statusCode: number
  readonly code: string

  constructor(statusCode: number, code: string, message: string) {
    super(message)
    this.statusCode = statusCode
    this.code = code
  }
}

/** Nest's exception names per status, as Cal.com's HTTP exception filter reports them. */
export const EXCEPTION_CODES: Readonly<Record<number, string>> = {
  400: 'BadRequestException',
  401: 'UnauthorizedException',
  403: 'ForbiddenException',
  404: 'NotFoundException',
  408: 'RequestTimeoutException',
  409: 'ConflictException',
  413: 'PayloadTooLargeException',
  415: 'UnsupportedMediaTypeException',
  422: 'UnprocessableEntityException',
  429: 'ThrottlerException',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BadGatewayException',
  503: 'ServiceUnavailableException',
  504: 'GatewayTimeoutException',
}

export const THROTTLED_MESSAGE = 'Too many requests. Please try again later.'

export const badRequest = (message: string) => new CalcomHttpError(400, 'BadRequestException', message)
export const unauthorized = (message: string) => new CalcomHttpError(401, 'UnauthorizedException', message)
export const notFound = (message: string) => new CalcomHttpError(404, 'NotFoundException', message)
export const conflict = (message: string) => new CalcomHttpError(409, 'ConflictException', message)
export const throttled = () => new CalcomHttpError(429, 'ThrottlerException', THROTTLED_MESSAGE)

/** `{ status: "error", timestamp, path, error: { code, message } }` (calcom/README.md §3.1). */
export function errorEnvelope(path: string, code: string, message: string, now: Date) {
  return { status: 'error', timestamp: now.toISOString(), path, error: { code, message } }
}
