/**
 * Keys calcom-sync writes into a Cal.com booking's `metadata` on create. Cal.com echoes them in
 * BOOKING_CREATED and BOOKING_RESCHEDULED webhooks and carries them across reschedules, which is
 * how the appointments service recognises its own bookings (loop prevention, layer 2).
 */
export const CALSYNC_METADATA = {
  appointmentId: 'calsyncAppointmentId',
  tenantId: 'calsyncTenantId',
  origin: 'calsyncOrigin',
} as const

/** The appointment id calsync put on a booking, if any. */
export function calsyncAppointmentIdOf(metadata: Record<string, unknown> | null | undefined): string | undefined {
  const value = metadata?.[CALSYNC_METADATA.appointmentId]
  return typeof value === 'string' && value !== '' ? value : undefined
}
