import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer, Wait } from 'testcontainers'

export const NATS_IMAGE = 'nats:2.12-alpine'
export const MONGO_IMAGE = 'mongo:8.0'

/**
 * True when testcontainers finds a container runtime that answers. Raced against a timeout:
 * a socket that accepts but never answers can otherwise hang for minutes.
 */
export async function containerRuntimeAvailable(timeoutMs = 5000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs)
  })
  try {
    return await Promise.race([
      getContainerRuntimeClient().then(
        () => true,
        () => false,
      ),
      timeout,
    ])
  } finally {
    clearTimeout(timer)
  }
}

export interface RunningContainer {
  url: string
  version: string
  container: StartedTestContainer
}

export async function startNatsContainer(): Promise<RunningContainer> {
  const container = await new GenericContainer(NATS_IMAGE)
    .withCommand(['-js', '-m', '8222'])
    .withExposedPorts(4222, 8222)
    .withWaitStrategy(Wait.forHttp('/healthz?js-enabled-only=true', 8222))
    .start()
  const varz = (await (await fetch(`http://${container.getHost()}:${container.getMappedPort(8222)}/varz`)).json()) as {
    version: string
  }
  return {
    url: `nats://${container.getHost()}:${container.getMappedPort(4222)}`,
    version: `nats-server: v${varz.version} (container ${NATS_IMAGE})`,
    container,
  }
}

export async function startMongoContainer(): Promise<RunningContainer> {
  const container = await new GenericContainer(MONGO_IMAGE)
    .withExposedPorts(27017)
    .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
    .start()
  return {
    url: `mongodb://${container.getHost()}:${container.getMappedPort(27017)}/?directConnection=true`,
    version: `mongodb (container ${MONGO_IMAGE})`,
    container,
  }
}
