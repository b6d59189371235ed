import { ERROR_CODES, type ErrorCode } from '@calsync/contracts'

interface AppErrorOptions {
  statusCode?: number
  cause?: unknown
  /** For an expected, passing unavailability (503): the caller may retry after this many seconds. */
  retryAfterSeconds?: number
}

/** Base of every calsync error: a stable `code` to match on, an HTTP status where it meets HTTP. */
export class AppError extends Error {
  override name = 'AppError'
  readonly code: ErrorCode
  readonly statusCode: number
  readonly retryAfterSeconds: number | undefined

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.code = code
    this.statusCode = options.statusCode ?? 500
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

/** A service asked by command (request/reply) did not answer: not running, too slow, or failing itself. */
export class DependencyUnavailableError extends AppError {
  override name = 'DependencyUnavailableError'
  constructor(message: string, cause?: unknown) {
    super(ERROR_CODES.unavailable, message, { statusCode: 503, cause })
  }
}

export class ConfigError extends Error {
  override name = 'ConfigError'
  readonly variable: string

  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`)
    this.variable = variable
  }
}

/** A unique-index violation on insert (MongoDB and FerretDB both answer code 11000). */
export class DuplicateKeyError extends AppError {
  override name = 'DuplicateKeyError'
  constructor(collection: string, cause: unknown) {
    super(ERROR_CODES.duplicateKey, `duplicate key in ${collection}`, { statusCode: 409, cause })
  }
}
