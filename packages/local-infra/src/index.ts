// @calsync/local-infra — runs the servers calsync needs on a developer machine or in tests:
// nats-server and FerretDB as tethered child processes, or containers where an engine exists.

export { binaryVersion, findBinary } from './binaries.ts'
export {
  containerRuntimeAvailable,
  MONGO_IMAGE,
  NATS_IMAGE,
  startMongoContainer,
  startNatsContainer,
} from './containers.ts'
export {
  type FerretDbBackend,
  ferretDbBackend,
  holdsSqliteData,
  type LocalServerOptions,
  type RunningServer,
  startFerretDb,
  startNatsServer,
} from './local-servers.ts'
export {
  findFreePort,
  type ManagedProcess,
  PORT_CLAIMS_VARIABLE,
  type SpawnOptions,
  spawnTethered,
  waitFor,
} from './processes.ts'
export {
  type RestartableServer,
  startRestartableFerretDb,
  startRestartableMongoContainer,
  startRestartableNatsServer,
} from './restartable.ts'
export { startTestInfra, type TestInfra } from './test-infra.ts'
