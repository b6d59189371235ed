import { MongoBulkWriteError } from 'mongodb'
import { describe, expect, it } from 'vitest'
import { duplicateIndexes } from '../../src/appointments/slot-claims.ts'

const bulkError = (writeErrors: Array<{ index: number; code: number }>, message = 'E11000 duplicate key') =>
  new MongoBulkWriteError({ message, code: writeErrors[0]?.code, writeErrors } as never, {} as never)

describe('which claims an insertMany refused as taken', () => {
  it('names the refused minutes of a duplicate-key refusal', () => {
    expect(duplicateIndexes(bulkError([{ index: 3, code: 11000 }]))).toEqual([3])
    expect(
      duplicateIndexes(
        bulkError([
          { index: 1, code: 11000 },
          { index: 4, code: 11000 },
        ]),
      ),
    ).toEqual([1, 4])
  })

  it('knows nothing of a bulk write cut off by the connection (found by the chaos run on PostgreSQL)', () => {
    // The database went away mid-insert: no write error says which minutes are ours. Read as "none
    // refused", a create committed without its claims and overlapped a booked appointment (I1).
    expect(duplicateIndexes(bulkError([], 'connection 44 to 127.0.0.1:35679 closed'))).toBeUndefined()
  })

  it('knows nothing of other refusals or other errors', () => {
    expect(
      duplicateIndexes(
        bulkError([
          { index: 0, code: 11000 },
          { index: 2, code: 121 },
        ]),
      ),
    ).toBeUndefined()
    expect(duplicateIndexes(new Error('boom'))).toBeUndefined()
  })
})
