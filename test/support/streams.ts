import type { JetStreamManager } from '@nats-io/jetstream'

export interface StoredMessage<T> {
  subject: string
  seq: number
  body: T
  msgId: string | undefined
}

/** Every message a stream holds (optionally only some subjects), oldest first. */
export async function readStream<T = unknown>(
  jsm: JetStreamManager,
  stream: string,
  filter: (subject: string) => boolean = () => true,
): Promise<Array<StoredMessage<T>>> {
  const { state } = await jsm.streams.info(stream)
  const messages: Array<StoredMessage<T>> = []
  if (state.messages === 0) return messages
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const message = await jsm.streams.getMessage(stream, { seq }).catch(() => null)
    if (!message || !filter(message.subject)) continue
    messages.push({
      subject: message.subject,
      seq: message.seq,
      body: message.json<T>(),
      msgId: message.header?.get('Nats-Msg-Id') || undefined,
    })
  }
  return messages
}
