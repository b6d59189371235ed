import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { findFreePort, findUnclaimedPort, PORT_CLAIMS_VARIABLE } from '../src/processes.ts'

describe('findFreePort', () => {
  const suiteClaims = process.env[PORT_CLAIMS_VARIABLE]
  afterEach(() => {
    if (suiteClaims === undefined) delete process.env[PORT_CLAIMS_VARIABLE]
    else process.env[PORT_CLAIMS_VARIABLE] = suiteClaims
  })

  it('is given the claims directory in every test worker, so concurrent files share it', () => {
    expect(suiteClaims, `${PORT_CLAIMS_VARIABLE} in the worker's environment`).toBeTruthy()
  })

  it('hands out each port once and records the claim', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'calsync-ports-test-'))
    try {
      process.env[PORT_CLAIMS_VARIABLE] = directory
      const ports = []
      for (let count = 0; count < 40; count++) ports.push(await findFreePort())
      expect(new Set(ports).size).toBe(ports.length)
      expect(readdirSync(directory).map(Number).sort()).toEqual([...ports].sort())
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })

  it('skips a port claimed by another process of the run', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'calsync-ports-test-'))
    try {
      writeFileSync(join(directory, '40001'), '')
      const offered = [40001, 40001, 40002]
      const port = await findUnclaimedPort(directory, async () => offered.shift() as number)
      expect(port).toBe(40002)
      expect(offered).toEqual([])
      // Without a claims directory (npm start, a user's own run) the first offer is taken.
      expect(await findUnclaimedPort(undefined, async () => 40001)).toBe(40001)
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })
})
