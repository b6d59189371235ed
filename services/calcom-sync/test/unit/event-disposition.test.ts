import { describe, expect, it } from 'vitest'
import { type Disposition, dispositionOf, driveOf } from '../../src/sync/event-disposition.ts'
import type { MappingDoc } from '../../src/sync/sync-store.ts'

type Mapping = Pick<MappingDoc, 'seen' | 'syncedVersion' | 'lastResult'>
const recorded = (eventId: string): MappingDoc['lastResult'] => ({
  msgId: `${eventId}:succeeded:1`,
  body: {
    type: 'sync.succeeded',
    tenantId: 't',
    appointmentId: 'a',
    version: 1,
    attempt: 1,
    at: '2030-01-01T00:00:00.000Z',
    eventId,
    calcomBookingUid: 'u1',
  },
})

/** `mapping` reads "seen <version>.<drive> synced <version> recorded <event id | ->"; `event` "<event id> <origin>". */
const rows: Array<[name: string, mapping: string, event: string, expected: Disposition]> = [
  ['first local event', 'seen 0.0 synced 0 recorded -', 'a:v1 admin', 'sync'],
  ['first Cal.com event', 'seen 0.0 synced 0 recorded -', 'a:v1 calcom', 'adopt'],
  [
    'an older version after a newer one was seen, though the newer failed (defect 5)',
    'seen 3.0 synced 1 recorded -',
    'a:v2 admin',
    'superseded',
  ],
  ['the newest seen again (a redelivery after a crash mid-sync)', 'seen 3.0 synced 2 recorded -', 'a:v3 admin', 'sync'],
  [
    'the synced event again: its result may be lost (defect 4)',
    'seen 2.0 synced 2 recorded a:v2',
    'a:v2 admin',
    'republish',
  ],
  ['a re-drive of the synced version', 'seen 2.0 synced 2 recorded a:v2', 'a:v2:r1 admin', 'confirm'],
  [
    'a re-drive of the synced version Cal.com was seen not to hold (the reconciler’s)',
    'seen 2.0 synced 2 recorded a:v2',
    'a:v2:r1 admin verify',
    'sync',
  ],
  [
    'a verifying re-drive seen again after its sync',
    'seen 2.1 synced 2 recorded a:v2:r1',
    'a:v2:r1 admin verify',
    'republish',
  ],
  ['the original event after its re-drive', 'seen 2.1 synced 2 recorded a:v2:r1', 'a:v2 admin', 'superseded'],
  ['a re-drive of a version that failed for good', 'seen 2.0 synced 1 recorded a:v1', 'a:v2:r1 admin', 'sync'],
  ['a Cal.com event older than the newest local one', 'seen 3.0 synced 1 recorded -', 'a:v2 calcom', 'superseded'],
  ['a Cal.com event already adopted', 'seen 2.0 synced 2 recorded -', 'a:v2 calcom', 'superseded'],
  ['a Cal.com event newer than a local one in progress', 'seen 2.0 synced 1 recorded -', 'a:v3 calcom', 'adopt'],
]

function mappingOf(text: string): Mapping {
  const [, seen = '0.0', , synced = '0', , eventId = '-'] = text.split(' ')
  const [version = 0, drive = 0] = seen.split('.').map(Number)
  return {
    seen: [version, drive],
    syncedVersion: Number(synced),
    lastResult: eventId === '-' ? null : recorded(eventId),
  }
}

function eventOf(text: string) {
  const [eventId = '', origin = 'admin', flag] = text.split(' ')
  return { eventId, origin, version: Number(/:v(\d+)/.exec(eventId)?.[1]), verify: flag === 'verify' }
}

describe('dispositionOf', () => {
  for (const [name, mapping, event, expected] of rows) {
    it(name, () => expect(dispositionOf(mappingOf(mapping), eventOf(event) as never)).toBe(expected))
  }
  it('reads the re-drive number of an event id', () => {
    expect(driveOf('apt_1:v3')).toBe(0)
    expect(driveOf('apt_1:v3:r12')).toBe(12)
  })
})
