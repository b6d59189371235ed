import type { Logger } from 'pino'

export interface ShutdownStep {
  name: string
  run: () => Promise<unknown>
}

export interface ShutdownOptions {
  logger: Logger
  /** Run in this order; each one even when an earlier one failed. */
  steps: ShutdownStep[]
  /** Exit anyway after this long, so a stuck step cannot hang a deployment. */
  timeoutMs?: number
  exit?: (code: number) => void
}

/**
 * Installs SIGTERM/SIGINT handlers that run the shutdown steps once, in order, then exit
 * (a repeated signal does not cut a running shutdown short).
 * Returns the same shutdown as a function for tests and for fatal errors.
 */
export function installShutdown(options: ShutdownOptions): (reason: string) => Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code))
  let running: Promise<void> | undefined
  const shutdown = (reason: string) => {
    running ??= (async () => {
      options.logger.info({ reason }, 'shutting down')
      const timer = setTimeout(() => {
        options.logger.error({ timeoutMs: options.timeoutMs }, 'shutdown timed out; exiting')
        exit(1)
      }, options.timeoutMs ?? 8000)
      timer.unref()
      let failed = false
      for (const step of options.steps) {
        try {
          await step.run()
        } catch (error) {
          failed = true
          options.logger.error({ err: error, step: step.name }, 'shutdown step failed')
        }
      }
      clearTimeout(timer)
      options.logger.info('stopped')
      options.logger.flush()
      exit(failed ? 1 : 0)
    })()
    return running
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
  return shutdown
}
