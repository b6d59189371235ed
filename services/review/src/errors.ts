import { ERROR_CODES } from '@calsync/contracts'
import { AppError, DependencyUnavailableError } from '@calsync/service-kit'

/** Also the answer for another tenant's item: its existence is not revealed (I6). */
export class ReviewItemNotFoundError extends AppError {
  override name = 'ReviewItemNotFoundError'
  constructor(id: string) {
    super(ERROR_CODES.notFound, `review item ${id} not found`, { statusCode: 404 })
  }
}

/** The item's state does not allow the action (nothing to retry, already resolved). */
export class ReviewItemConflictError extends AppError {
  override name = 'ReviewItemConflictError'
  constructor(message: string) {
    super(ERROR_CODES.conflict, message, { statusCode: 409 })
  }
}

export { DependencyUnavailableError }

export class AppointmentsUnavailableError extends DependencyUnavailableError {
  override name = 'AppointmentsUnavailableError'
}

/** JetStream did not answer a read or publish of a stored message (a replay). */
export class StreamUnavailableError extends AppError {
  override name = 'StreamUnavailableError'
  constructor(message: string, cause?: unknown) {
    super(ERROR_CODES.unavailable, message, { statusCode: 503, cause })
  }
}

export function unauthorized(message: string): AppError {
  return new AppError(ERROR_CODES.unauthorized, message, { statusCode: 401 })
}

export function notFound(message: string): AppError {
  return new AppError(ERROR_CODES.notFound, message, { statusCode: 404 })
}

export function badRequest(message: string): AppError {
  return new AppError(ERROR_CODES.badRequest, message, { statusCode: 400 })
}
