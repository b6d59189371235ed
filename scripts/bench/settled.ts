// When the stack has done everything it was given: no webhook in flight at the sandbox and every
// consumer caught up, three checks in a row. Asked of NATS and the sandbox only, so waiting adds
// no database command to what a section counts.
import { consumerDefinitions, createNames } from '@calsync/contracts'
import type { JetStreamManager } from '@nats-io/jetstream'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function consumersCaughtUp(jsm: JetStreamManager): Promise<boolean> {
  const definitions = consumerDefinitions(createNames())
  for (const consumer of [
    definitions.appointmentsWebhooks,
    definitions.appointmentsSyncResults,
    definitions.calcomSync,
  ]) {
    const lastSeq = (await jsm.streams.info(consumer.stream)).state.last_seq
    const info = await jsm.consumers.info(consumer.stream, consumer.durable)
    if (info.num_pending > 0 || info.num_ack_pending > 0 || info.ack_floor.stream_seq < lastSeq) return false
  }
  return true
}

/** Resolves to when the stack was first seen settled (the checks after it only confirm it). */
export async function waitSettled(jsm: JetStreamManager, sandboxUrl: string, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let quiet = 0
  let since = 0
  while (quiet < 3) {
    if (Date.now() > deadline) throw new Error(`the stack did not settle within ${timeoutMs / 1000} s`)
    await (await fetch(`${sandboxUrl}/_sandbox/webhooks/flush`, { method: 'POST' })).body?.cancel()
    const checked = Date.now()
    quiet = (await consumersCaughtUp(jsm)) ? quiet + 1 : 0
    if (quiet === 1) since = checked
    await sleep(quiet === 0 ? 200 : 400)
  }
  return since
}
