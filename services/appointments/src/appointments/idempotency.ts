import { createHash } from 'node:crypto'
import { ERROR_CODES } from '@calsync/contracts'
import { AppError, isDuplicateKeyError } from '@calsync/service-kit'
import type { AppointmentsStore, IdempotencyDoc } from './appointments-store.ts'
import { bucketOf } from './prune-buckets.ts'

export interface StoredResponse {
  statusCode: number
  body: unknown
}

const WAIT_FOR_FIRST_MS = 5000
/** A pending key older than this belongs to a request whose process died: it may be taken over. */
const ABANDONED_AFTER_MS = 60_000
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/

export function fingerprintOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex')
}

/**
 * `Idempotency-Key`: the first request with a key runs and its answer (success or a 4xx) is
 * stored; later requests with the same key get the same answer. The key is taken by a unique
 * insert, so two concurrent first requests cannot both run.
 */
export function createIdempotency(store: AppointmentsStore, clock: () => Date = () => new Date()) {
  const { idempotency } = store

  async function waitForAnswer(id: string): Promise<IdempotencyDoc | undefined> {
    const deadline = Date.now() + WAIT_FOR_FIRST_MS
    for (;;) {
      const doc = await idempotency.findOne({ _id: id })
      if (!doc || doc.state === 'done' || Date.now() > deadline) return doc ?? undefined
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  return {
    async run(
      tenantId: string,
      key: string,
      fingerprint: string,
      execute: () => Promise<StoredResponse>,
    ): Promise<StoredResponse> {
      if (!KEY_PATTERN.test(key)) {
        throw new AppError(ERROR_CODES.badRequest, 'Idempotency-Key must be 1-255 printable ASCII characters', {
          statusCode: 400,
        })
      }
      const id = `${tenantId}|${key}`
      for (let attempt = 0; attempt < 2; attempt++) {
        const now = clock().toISOString()
        try {
          await idempotency.insertOne({
            _id: id,
            tenantId,
            fingerprint,
            state: 'pending',
            statusCode: null,
            body: null,
            createdAt: now,
            hour: bucketOf('hour', now),
          })
          break
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error
          const existing = await waitForAnswer(id)
          if (!existing) continue
          if (existing.fingerprint !== fingerprint) {
            throw new AppError(
              ERROR_CODES.idempotencyConflict,
              'this Idempotency-Key was used with a different request',
              {
                statusCode: 409,
              },
            )
          }
          if (existing.state === 'done') return { statusCode: existing.statusCode ?? 200, body: existing.body }
          if (clock().getTime() - Date.parse(existing.createdAt) < ABANDONED_AFTER_MS) {
            throw new AppError(
              ERROR_CODES.idempotencyConflict,
              'a request with this Idempotency-Key is still in progress',
              {
                statusCode: 409,
              },
            )
          }
          await idempotency.deleteOne({ _id: id, state: 'pending' })
        }
      }
      try {
        const response = await execute()
        await idempotency.updateOne(
          { _id: id },
          { $set: { state: 'done', statusCode: response.statusCode, body: response.body } },
        )
        return response
      } catch (error) {
        if (error instanceof AppError && error.statusCode < 500) {
          const body = { error: error.code, message: error.message }
          await idempotency.updateOne({ _id: id }, { $set: { state: 'done', statusCode: error.statusCode, body } })
          throw error
        }
        // Unexpected failures leave nothing behind: the client may retry with the same key.
        await idempotency.deleteOne({ _id: id })
        throw error
      }
    },
  }
}

export type Idempotency = ReturnType<typeof createIdempotency>
