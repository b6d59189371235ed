import { ERROR_CODES } from '@calsync/contracts'
import { AppError } from '@calsync/service-kit'

export class SlotUnavailableError extends AppError {
  override name = 'SlotUnavailableError'
  readonly holders: string[]

  constructor(holders: string[]) {
    super(ERROR_CODES.slotUnavailable, 'the resource already has an appointment overlapping this time', {
      statusCode: 409,
    })
    this.holders = holders
  }
}

export class AppointmentNotFoundError extends AppError {
  override name = 'AppointmentNotFoundError'
  constructor(id: string) {
    super(ERROR_CODES.notFound, `appointment ${id} not found`, { statusCode: 404 })
  }
}

/** Another change took the next version first; the caller may reload and try again. */
export class ConcurrentChangeError extends AppError {
  override name = 'ConcurrentChangeError'
  constructor(appointmentId: string, version: number) {
    super(ERROR_CODES.conflict, `appointment ${appointmentId} changed concurrently (version ${version} taken)`, {
      statusCode: 409,
    })
  }
}

export function badRequest(message: string): AppError {
  return new AppError(ERROR_CODES.badRequest, message, { statusCode: 400 })
}
