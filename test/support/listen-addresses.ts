// Where a server listens, seen from outside it: for the tests of the HOST default.
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { networkInterfaces } from 'node:os'

/** This machine's first IPv4 address that is not loopback, if it has one. */
export function otherAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry?.family === 'IPv4' && !entry.internal)?.address
}

/** True when a TCP connection is accepted, false when refused; anything else fails the test. */
export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNREFUSED' ? resolve(false) : reject(error),
    )
  })
}

/**
 * The IPv4 addresses the kernel has a listening socket on for `port` (/proc/net/tcp, state 0A):
 * what the server bound, whatever interfaces this machine has.
 */
export function listeningAddresses(port: number): string[] {
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[3] === '0A' && Number.parseInt(fields[1]?.split(':')[1] ?? '', 16) === port)
    .map((fields) => {
      const hex = fields[1]?.split(':')[0] ?? ''
      // Little-endian: 0100007F is 127.0.0.1.
      return [6, 4, 2, 0].map((at) => Number.parseInt(hex.slice(at, at + 2), 16)).join('.')
    })
}
