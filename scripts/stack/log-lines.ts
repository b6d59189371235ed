// Turns the pino JSON lines of every child of `npm start` into one stream: readable text on a
// terminal, or one JSON object per line (each with a `service` field) for pipes and log shippers.

export type LogFormat = 'pretty' | 'json'

type LogRecord = Record<string, unknown>

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
}
const LEVEL_COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '41;97' }
const SERVICE_COLORS = ['36', '35', '34', '33', '32', '96', '95']
const SERVICE_WIDTH = 15
/** Pino and Fastify bookkeeping that says nothing to a person reading along. */
const HIDDEN_FIELDS = new Set(['level', 'time', 'service', 'name', 'msg', 'pid', 'hostname', 'v', 'spanId', 'reqId'])

/** `pretty` on a terminal, `json` otherwise; CALSYNC_LOG_FORMAT overrides either way. */
export function chooseLogFormat(requested: string | undefined, isTerminal: boolean): LogFormat {
  if (requested === 'pretty' || requested === 'json') return requested
  if (requested) throw new Error(`CALSYNC_LOG_FORMAT must be pretty or json, not "${requested}"`)
  return isTerminal ? 'pretty' : 'json'
}

function parseRecord(line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const value: unknown = JSON.parse(line)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as LogRecord) : undefined
  } catch {
    return undefined
  }
}

function clockTime(time: unknown): string {
  const date = new Date(typeof time === 'string' || typeof time === 'number' ? time : Date.now())
  const pad = (value: number, width = 2) => String(value).padStart(width, '0')
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
}

function showValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value
  return JSON.stringify(value) ?? String(value)
}

/** The fields worth a glance, Fastify's request/response pairs shortened to `GET /x → 200 (3 ms)`. */
function keyFields(record: LogRecord): { inline: string[]; trace: string | undefined; stack: string | undefined } {
  const inline: string[] = []
  const req = record.req as { method?: string; url?: string } | undefined
  if (req?.method) inline.push(`${req.method} ${req.url ?? ''}`)
  const res = record.res as { statusCode?: number } | undefined
  if (res?.statusCode !== undefined) {
    const took = typeof record.responseTime === 'number' ? ` (${record.responseTime.toFixed(1)} ms)` : ''
    inline.push(`→ ${res.statusCode}${took}`)
  }
  const err = record.err as { type?: string; message?: string; stack?: string } | undefined
  if (err?.message) inline.push(`err=${showValue(`${err.type ? `${err.type}: ` : ''}${err.message}`)}`)
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN_FIELDS.has(key) || ['req', 'res', 'responseTime', 'err', 'traceId'].includes(key)) continue
    inline.push(`${key}=${showValue(value)}`)
  }
  const trace = typeof record.traceId === 'string' ? record.traceId : undefined
  const level = typeof record.level === 'number' ? record.level : 30
  return { inline, trace, stack: level >= 50 && err?.stack ? err.stack : undefined }
}

export interface LogLines {
  /** One line a child wrote, ready for our stdout (newline included). */
  fromChild(service: string, line: string, stream: 'stdout' | 'stderr'): string
  /** A line of the stack runner itself, in the same format. */
  fromRunner(level: 'info' | 'warn' | 'error', msg: string, fields?: LogRecord): string
}

export function createLogLines(options: { format: LogFormat; color: boolean; runnerName?: string }): LogLines {
  const runnerName = options.runnerName ?? 'calsync'
  const paint = (code: string, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text)
  const serviceColors = new Map<string, string>()
  const serviceColor = (service: string) => {
    if (!serviceColors.has(service)) {
      serviceColors.set(service, SERVICE_COLORS[serviceColors.size % SERVICE_COLORS.length] as string)
    }
    return serviceColors.get(service) as string
  }

  function pretty(record: LogRecord, service: string): string {
    const level = typeof record.level === 'number' ? record.level : 30
    const levelName = (LEVEL_NAMES[level] ?? String(level)).padEnd(5)
    const head = [
      paint('90', clockTime(record.time)),
      paint(LEVEL_COLORS[level] ?? '0', levelName),
      paint(serviceColor(service), service.padEnd(SERVICE_WIDTH)),
    ].join(' ')
    const { inline, trace, stack } = keyFields(record)
    const message = typeof record.msg === 'string' ? record.msg : ''
    const details = inline.length > 0 ? `  ${paint('2', inline.join(' '))}` : ''
    const traceText = trace ? `  ${paint('90', `trace=${trace}`)}` : ''
    const stackText = stack ? `\n${paint('90', stack.replace(/^/gm, '    '))}` : ''
    return `${head} ${message}${details}${traceText}${stackText}\n`
  }

  return {
    fromChild(service, line, stream) {
      const record = parseRecord(line)
      if (options.format === 'json') {
        // Pino lines already carry `service`; anything else (a crash trace, a runtime warning) is wrapped.
        if (record) return `${JSON.stringify(record.service ? record : { ...record, service })}\n`
        const level = stream === 'stderr' ? 50 : 30
        return `${JSON.stringify({ level, time: new Date().toISOString(), service, stream, msg: line })}\n`
      }
      if (record) return pretty(record, typeof record.service === 'string' ? record.service : service)
      const tag = stream === 'stderr' ? paint('31', 'ERR  ') : '     '
      return `${paint('90', clockTime(undefined))} ${tag} ${paint(serviceColor(service), service.padEnd(SERVICE_WIDTH))} ${line}\n`
    },
    fromRunner(level, msg, fields = {}) {
      const record = {
        level: { info: 30, warn: 40, error: 50 }[level],
        time: new Date().toISOString(),
        service: runnerName,
        msg,
        ...fields,
      }
      return options.format === 'json' ? `${JSON.stringify(record)}\n` : pretty(record, runnerName)
    },
  }
}
