import { type AppointmentEvent, driveOf } from '@calsync/contracts'
import type { MappingDoc } from './sync-store.ts'

/**
 * What one appointment event asks of calcom-sync, given the mapping: pure, so that duplicates,
 * reordering and redeliveries after a crash are rows of a table (test/unit/event-disposition).
 *
 * - `superseded`: a newer version (or re-drive) was seen; pushing this one could only move Cal.com
 *   backwards, and its result would speak for a version that is history.
 * - `adopt`: a change that came from Cal.com: remember what Cal.com holds, call nothing (I5).
 * - `republish`: this very event was synced; its result may not have been published (crash,
 *   NATS failure), so publish the recorded one again under the same message id.
 * - `confirm`: a re-drive of a version Cal.com already reflects: answer it from the mapping
 *   (unless the re-drive asks to `verify`: the reconciler saw Cal.com not reflect it).
 * - `sync`: bring Cal.com to this version.
 */
export type Disposition = 'superseded' | 'adopt' | 'republish' | 'confirm' | 'sync'

export { driveOf }

export type SeenKey = [number, number]

export const seenKeyOf = (event: Pick<AppointmentEvent, 'version' | 'eventId'>): SeenKey => [
  event.version,
  driveOf(event.eventId),
]

export function compareSeen(a: SeenKey, b: SeenKey): number {
  return a[0] - b[0] || a[1] - b[1]
}

export const newestSeen = (a: SeenKey, b: SeenKey): SeenKey => (compareSeen(a, b) >= 0 ? a : b)

export function dispositionOf(
  mapping: Pick<MappingDoc, 'seen' | 'syncedVersion' | 'lastResult'>,
  event: Pick<AppointmentEvent, 'version' | 'eventId' | 'origin'> & { verify?: boolean | undefined },
): Disposition {
  if (compareSeen(seenKeyOf(event), mapping.seen) < 0) return 'superseded'
  if (event.origin === 'calcom') return event.version > mapping.syncedVersion ? 'adopt' : 'superseded'
  if (event.version > mapping.syncedVersion) return 'sync'
  if (event.version < mapping.syncedVersion) return 'superseded'
  if (mapping.lastResult?.body.eventId === event.eventId) return 'republish'
  return event.verify ? 'sync' : 'confirm'
}
