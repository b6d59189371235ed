// The pure rules behind an appointment's sync state and booking chain.
import type { AppointmentSnapshot, SyncResult } from '@calsync/contracts'
import { describe, expect, it } from 'vitest'
import { type ChainFact, chainEnd, isUnambiguous, withFacts } from '../../src/sync/booking-chain.ts'
import {
  applyResult,
  factsOfResult,
  type SyncDoc,
  stateForRedrive,
  stateForVersion,
} from '../../src/sync/sync-state.ts'

const NOW = new Date('2031-01-01T00:00:00.000Z')
const snapshot = (version: number, origin: AppointmentSnapshot['origin'] = 'admin'): AppointmentSnapshot => ({
  id: 'apt_a',
  tenantId: 'acme-dental',
  eventTypeId: 1001,
  resource: 'dr-jones',
  start: '2031-03-03T09:00:00.000Z',
  end: '2031-03-03T09:30:00.000Z',
  status: 'booked',
  origin,
  version,
  attendee: { name: 'Dana', email: 'dana@example.org', timeZone: 'UTC' },
  calcomBookingUid: null,
  createdAt: NOW.toISOString(),
  updatedAt: NOW.toISOString(),
})

const base = { tenantId: 'acme-dental', appointmentId: 'apt_a', at: NOW.toISOString() }
const succeeded = (version: number, attempt: number, uid: string, extra: Partial<SyncResult> = {}): SyncResult =>
  ({
    type: 'sync.succeeded',
    ...base,
    version,
    attempt,
    eventId: `apt_a:v${version}`,
    calcomBookingUid: uid,
    action: 'created',
    previousBookingUid: null,
    ...extra,
  }) as SyncResult
const attemptFailed = (version: number, attempt: number, eventId = `apt_a:v${version}`): SyncResult => ({
  type: 'sync.attempt_failed',
  ...base,
  version,
  attempt,
  eventId,
  errorCode: 'calcom_server_error',
  errorMessage: '503',
})
const failed = (version: number, attempt: number, eventId = `apt_a:v${version}`): SyncResult => ({
  type: 'sync.failed',
  ...base,
  version,
  attempt,
  eventId,
  errorCode: 'calcom_server_error',
  errorMessage: '503',
})

const first = (): SyncDoc => stateForVersion(undefined, snapshot(1), 'apt_a:v1', [], NOW)
const apply = (doc: SyncDoc, ...results: SyncResult[]) =>
  results.reduce((state, result) => applyResult(state, result, NOW), doc)

describe('applying sync results', () => {
  it.each([
    ['a late attempt_failed after success', [succeeded(1, 2, 'u1'), attemptFailed(1, 1)], 'synced', 2],
    [
      'a redelivered attempt_failed of the same attempt',
      [attemptFailed(1, 1), succeeded(1, 2, 'u1'), attemptFailed(1, 2)],
      'synced',
      2,
    ],
    ['results of one version in reverse order', [failed(1, 4), attemptFailed(1, 3), attemptFailed(1, 1)], 'failed', 4],
    ['a success of an older version', [succeeded(1, 1, 'u1')], 'pending', 0],
  ] as const)('%s', (_name, results, status, attempts) => {
    let doc = first()
    if (status === 'pending') doc = stateForVersion(doc, snapshot(2), 'apt_a:v2', [], NOW)
    const state = apply(doc, ...results)
    expect(state.status).toBe(status)
    expect(state.attempts).toBe(attempts)
  })

  it('ends waiting only with a terminal result of the change waited for', () => {
    const v2 = stateForVersion(first(), snapshot(2), 'apt_a:v2', [], NOW)
    expect(v2.awaiting).toEqual({ version: 2, eventId: 'apt_a:v2' })
    expect(apply(v2, attemptFailed(2, 1)).awaiting).not.toBeNull()
    expect(apply(v2, succeeded(1, 1, 'u1')).awaiting).not.toBeNull()
    expect(apply(v2, failed(2, 4)).awaiting).toBeNull()
    const redriven = stateForRedrive(apply(v2, failed(2, 4)), 'apt_a:v2:r1', NOW)
    expect(redriven).toMatchObject({ status: 'pending', awaiting: { version: 2, eventId: 'apt_a:v2:r1' }, drives: 1 })
    // A late result of the drive the operator replaced changes nothing.
    expect(apply(redriven, attemptFailed(2, 4)).status).toBe('pending')
    expect(apply(redriven, succeeded(2, 1, 'u1', { eventId: 'apt_a:v2:r1' }))).toMatchObject({
      status: 'synced',
      awaiting: null,
    })
  })

  it('keeps a change from Cal.com synced and never waiting (I5)', () => {
    expect(stateForVersion(undefined, snapshot(1, 'calcom'), 'apt_a:v1', [], NOW)).toMatchObject({
      status: 'synced',
      awaiting: null,
    })
  })
})

describe('the booking chain', () => {
  const facts: ChainFact[] = [
    { kind: 'booked', uid: 'u1', by: 'calsync', version: 1 },
    { kind: 'moved', from: 'u1', uid: 'u2', by: 'calsync', version: 2 },
    { kind: 'moved', from: 'u2', uid: 'u3', by: 'calcom', version: 3 },
    { kind: 'moved', from: 'u3', uid: 'u4', by: 'calsync', version: 4 },
  ]

  function permutations<T>(items: T[]): T[][] {
    if (items.length <= 1) return [items]
    return items.flatMap((item, i) =>
      permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
    )
  }

  it('ends at the newest booking whatever order its facts arrive in, twice or once', () => {
    for (const order of permutations(facts)) {
      const chain = withFacts([], [...order, ...order])
      expect(chainEnd(chain)?.uid).toBe('u4')
      expect(isUnambiguous(chain)).toBe(true)
      expect(chain).toHaveLength(4)
    }
  })

  it('is ambiguous while a step in the middle is missing', () => {
    const chain = withFacts([], [facts[0], facts[2]] as ChainFact[])
    expect(isUnambiguous(chain)).toBe(false)
    expect(isUnambiguous(withFacts(chain, [facts[1]] as ChainFact[]))).toBe(true)
  })

  it('is ambiguous while a booking is known only from a later fact', () => {
    // The cancel of u2 told before the move that made u2: u1 looks current, but is not.
    const chain = withFacts([], [facts[0], { kind: 'cancelled', uid: 'u2', by: 'calsync', version: 3 }] as ChainFact[])
    expect(isUnambiguous(chain)).toBe(false)
    expect(isUnambiguous(withFacts(chain, [facts[1]] as ChainFact[]))).toBe(true)
  })

  it('never gives a booking two successors', () => {
    const chain = withFacts([], [
      facts[0],
      facts[1],
      { kind: 'moved', from: 'u1', uid: 'u9', by: 'calcom', version: 2 },
    ] as ChainFact[])
    expect(chain.map((link) => link.uid)).toEqual(['u1', 'u2'])
  })

  it('learns every step a retry recovered from its steps, attributed, not only the last one', () => {
    // A lost move u1→u2 (calsync), the customer's move u2→u3 seen on the way, then calsync moved u3→u4.
    const result = succeeded(3, 2, 'u4', {
      action: 'rescheduled',
      previousBookingUid: 'u3',
      steps: [
        { action: 'created', uid: 'u1', previousBookingUid: null, by: 'calsync' },
        { action: 'rescheduled', uid: 'u2', previousBookingUid: 'u1', by: 'calsync' },
        { action: 'rescheduled', uid: 'u3', previousBookingUid: 'u2', by: 'calcom' },
        { action: 'rescheduled', uid: 'u4', previousBookingUid: 'u3', by: 'calsync' },
      ],
    })
    const chain = withFacts([], factsOfResult(result))
    expect(chain.map((link) => [link.uid, link.from, link.by])).toEqual([
      ['u1', null, 'calsync'],
      ['u2', 'u1', 'calsync'],
      ['u3', 'u2', 'calcom'],
      ['u4', 'u3', 'calsync'],
    ])
    expect(chainEnd(chain)?.uid).toBe('u4')
    expect(isUnambiguous(chain)).toBe(true)
  })

  it('takes each step at the version calsync made it for, from a success and from a failure', () => {
    const history = [
      { action: 'created' as const, uid: 'u1', previousBookingUid: null, by: 'calsync' as const, version: 1 },
      { action: 'cancelled' as const, uid: 'u1', previousBookingUid: 'u1', by: 'calsync' as const, version: 2 },
    ]
    // v1's result was lost: v2's tells its step too, and the echo of u1's creation is calsync's own.
    const chain = withFacts([], factsOfResult(succeeded(2, 1, 'u1', { action: 'cancelled', steps: history })))
    expect(chain).toEqual([
      { uid: 'u1', from: null, by: 'calsync', version: 1, cancelled: { by: 'calsync', version: 2 } },
    ])
    const failed: SyncResult = {
      type: 'sync.failed',
      ...base,
      version: 3,
      attempt: 4,
      eventId: 'apt_a:v3',
      errorCode: 'calcom_bad_request',
      errorMessage: 'refused',
      steps: [history[0] as (typeof history)[number]],
    }
    expect(factsOfResult(failed)).toEqual([{ kind: 'booked', uid: 'u1', by: 'calsync', version: 1 }])
    const unversioned = { action: 'created' as const, uid: 'u9', previousBookingUid: null, by: 'calsync' as const }
    expect(factsOfResult(succeeded(5, 1, 'u9', { steps: [unversioned] }))).toEqual([
      { kind: 'booked', uid: 'u9', by: 'calsync', version: 5 },
    ])
  })

  it('ends at the open booking, not at a duplicate cancelled on the way', () => {
    const chain = withFacts([], [
      { kind: 'booked', uid: 'u1', by: 'calsync', version: 1 },
      { kind: 'booked', uid: 'dup', by: 'calsync', version: 1 },
      { kind: 'cancelled', uid: 'dup', by: 'calsync', version: 1 },
    ] as ChainFact[])
    expect(chainEnd(chain)?.uid).toBe('u1')
    expect(isUnambiguous(chain)).toBe(true)
  })
})
