// `npm run demo`: walks a running stack (`npm start` or `docker compose up`) through the whole
// two-way sync, step by step, saying what happened and where to look. Exit 0 only when every step held.

import { loadDemoConfig } from './demo/demo-config.ts'
import type { DemoContext, DemoState, DemoStep } from './demo/demo-context.ts'
import { DemoError } from './demo/demo-error.ts'
import { checkStackReady, chooseTenant, findRunSlots } from './demo/plan-run.ts'
import { createReporter, showTime } from './demo/reporter.ts'
import { appointmentsClient, calcomClient, reviewClient, sandboxControl } from './demo/stack-clients.ts'
import { calcomBookingStep } from './demo/steps/calcom-booking.ts'
import { changesBothWaysStep } from './demo/steps/changes-both-ways.ts'
import { echoStep } from './demo/steps/echo.ts'
import { liftOutage, outageStep } from './demo/steps/outage.ts'
import { phoneBookingStep } from './demo/steps/phone-booking.ts'
import { loadTenantsWithTokens } from './lib/tenants-with-tokens.ts'

const STEPS: DemoStep[] = [phoneBookingStep, calcomBookingStep, changesBothWaysStep, echoStep, outageStep]
/** a, b and d take one slot each, c two (one per side's reschedule), e one. */
const SLOTS_PER_RUN = 6

const report = createReporter(
  (text) => process.stdout.write(text),
  process.stdout.isTTY === true && !process.env.NO_COLOR,
)

async function prepare(): Promise<DemoContext> {
  const config = loadDemoConfig(process.env)
  const tenant = chooseTenant(await loadTenantsWithTokens(config.tenantsFile, process.env), config.tenantsFile)
  await checkStackReady(config)
  const appointments = appointmentsClient(config, tenant.token)
  const sandbox = sandboxControl(config)
  const calcom = calcomClient(config, tenant.apiKey)
  report.heading(
    `calsync demo as tenant ${tenant.id}, event type ${tenant.eventType.id} (${tenant.eventType.resource})`,
  )
  report.heading(`  appointments ${config.appointmentsUrl}   review ${config.reviewUrl}`)
  report.heading(`  gateway ${config.gatewayUrl}   Cal.com sandbox ${config.sandboxUrl}`)
  const leftOver = await liftOutage({ sandbox, tenant })
  if (leftOver > 0) report.heading(`  an interrupted run left a Cal.com outage behind: ${leftOver} fault(s) lifted`)
  const slots = await findRunSlots(tenant, appointments, sandbox, SLOTS_PER_RUN, new Date())
  report.heading(`  free slots from ${showTime(slots[0] as string)} (none held on either side)`)
  let next = 0
  return {
    config,
    tenant,
    appointments,
    review: reviewClient(config),
    calcom,
    sandbox,
    report,
    nextSlot() {
      const slot = slots[next++]
      if (!slot) throw new DemoError(`the run needs more than ${SLOTS_PER_RUN} slots`)
      return slot
    },
  }
}

async function main(): Promise<number> {
  let context: DemoContext
  try {
    context = await prepare()
  } catch (error) {
    process.stderr.write(`calsync demo: ${error instanceof DemoError ? error.message : (error as Error).stack}\n`)
    return 1
  }
  const state: DemoState = {}
  const held: string[] = []
  for (const step of STEPS) {
    report.step(step.key, step.title)
    try {
      await step.run(context, state)
    } catch (error) {
      report.failed(step.key, error instanceof DemoError ? error.message : ((error as Error).stack ?? String(error)))
      process.stdout.write(
        `\ndemo stopped at step ${step.key}${held.length > 0 ? `; steps that held: ${held.join(' ')}` : ''}\n`,
      )
      return 1
    }
    report.held(step.key)
    held.push(step.key)
  }
  process.stdout.write(`\nall ${STEPS.length} steps held (${held.join(' ')})\n`)
  const { config, tenant } = context
  process.stdout.write(
    `look around: the review dashboard ${config.reviewUrl}/, Cal.com's side ${context.sandbox.bookingsUrl(tenant.id)},\n` +
      `             metrics at /metrics of ${config.gatewayUrl}, ${config.appointmentsUrl} and ${config.reviewUrl}\n`,
  )
  return 0
}

process.exitCode = await main()
