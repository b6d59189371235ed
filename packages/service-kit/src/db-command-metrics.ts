import type { Meter } from '@opentelemetry/api'
import type { CommandStartedEvent, MongoClient } from 'mongodb'

/** What `calsync_db_commands_total` labels a command with. */
export interface DbCommandTarget {
  command: string
  /** Empty for commands on no collection (ping, endSessions, listCollections, …). */
  collection: string
}

/**
 * The collection a command works on: CRUD commands name it as the value of their first key
 * (`{ find: "appointments", … }`), `getMore` under `collection`.
 */
export function dbCommandTarget(event: Pick<CommandStartedEvent, 'commandName' | 'command'>): DbCommandTarget {
  const { commandName, command } = event
  const named = commandName === 'getMore' ? command.collection : command[commandName]
  return { command: commandName, collection: typeof named === 'string' ? named : '' }
}

/**
 * Counts every command the client sends, so cost per change is measured in commands (issue 14).
 * The client must have been created with `monitorCommands: true`.
 */
export function countDbCommands(client: MongoClient, meter: Meter, service: string): void {
  const commands = meter.createCounter('calsync_db_commands_total', {
    description: 'Commands this process sent to the database, by command and collection',
  })
  client.on('commandStarted', (event) => {
    const { command, collection } = dbCommandTarget(event)
    commands.add(1, { service, command, collection })
  })
}
