// CPU time of processes, read from Linux's /proc: what a benchmark divides by the requests served.
import { readdirSync, readFileSync } from 'node:fs'

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat (100 on every Linux architecture in use). */
const TICKS_PER_SECOND = 100

export interface ProcessCpu {
  pid: number
  /** The executable's name (`node`, `nats-server`, …). */
  comm: string
  /** Its command line, arguments joined by spaces. */
  cmdline: string
  /** User plus system CPU seconds used so far. */
  cpuSeconds: number
}

function readStat(pid: number): { comm: string; ppid: number; cpuSeconds: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The name is in parentheses and may itself hold spaces or parentheses: split after the last one.
    const close = stat.lastIndexOf(')')
    const comm = stat.slice(stat.indexOf('(') + 1, close)
    const fields = stat.slice(close + 2).split(' ')
    // After the name: state, ppid, …; utime and stime are the 14th and 15th fields of the line.
    const ppid = Number(fields[1])
    const ticks = Number(fields[11]) + Number(fields[12])
    return { comm, ppid, cpuSeconds: ticks / TICKS_PER_SECOND }
  } catch {
    return undefined
  }
}

/** Every live process beneath `rootPid`, itself included, with the CPU each has used so far. */
export function processTreeCpu(rootPid: number = process.pid): ProcessCpu[] {
  const all = new Map<number, { comm: string; ppid: number; cpuSeconds: number }>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const stat = readStat(Number(name))
    if (stat) all.set(Number(name), stat)
  }
  const inTree = new Set<number>([rootPid])
  // Parents before children is not guaranteed by pid order: repeat until nothing is added.
  for (let grew = true; grew; ) {
    grew = false
    for (const [pid, stat] of all) {
      if (!inTree.has(pid) && inTree.has(stat.ppid)) {
        inTree.add(pid)
        grew = true
      }
    }
  }
  return [...inTree].flatMap((pid) => {
    const stat = all.get(pid)
    if (!stat) return []
    let cmdline = ''
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
    } catch {
      // Exited meanwhile: its name still tells what it was.
    }
    return [{ pid, comm: stat.comm, cmdline, cpuSeconds: stat.cpuSeconds }]
  })
}

/** CPU seconds of the processes beneath `rootPid` whose command line or name matches. */
export function cpuSecondsOf(match: (process: ProcessCpu) => boolean, rootPid?: number): number {
  return processTreeCpu(rootPid)
    .filter(match)
    .reduce((sum, process) => sum + process.cpuSeconds, 0)
}
