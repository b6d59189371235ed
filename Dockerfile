# One image for every calsync process; CALSYNC_SERVICE picks the one a container runs:
#   docker build -t calsync .
#   docker run -e CALSYNC_SERVICE=appointments -e NATS_URL=… -e MONGO_URL=… calsync
# Names: webhook-gateway, appointments, calcom-sync, review, calcom-sandbox (scripts/services.ts).
#
# The services run their TypeScript directly (Node type stripping), so there is no build step,
# only a production install. Node will not strip types under node_modules, which is why the
# workspace packages stay in packages/ with pnpm's symlinks pointing at them (no `pnpm deploy`).

FROM node:24.9.0-bookworm-slim AS deps
WORKDIR /app
# The pnpm that wrote the lockfile (package.json "packageManager").
RUN npm install --global pnpm@10.34.8
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
# Manifests only, so this layer and the install below are reused until dependencies change.
# packages/local-infra is left out on purpose: it is tooling for tests and `npm start`, and it
# would bring testcontainers along.
COPY packages/contracts/package.json packages/contracts/
COPY packages/service-kit/package.json packages/service-kit/
COPY packages/calcom-sandbox/package.json packages/calcom-sandbox/
COPY services/webhook-gateway/package.json services/webhook-gateway/
COPY services/appointments/package.json services/appointments/
COPY services/calcom-sync/package.json services/calcom-sync/
COPY services/review/package.json services/review/
# --prod skips every devDependency (vitest, playwright-core, testcontainers, biome, typescript).
RUN --mount=type=cache,id=calsync-pnpm-store,target=/pnpm-store \
    CI=true pnpm install --frozen-lockfile --prod --store-dir /pnpm-store

FROM node:24.9.0-bookworm-slim AS runtime
# Nothing at run time installs packages: without npm, npx, corepack and yarn the image is smaller
# and holds less that could be turned against it.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /opt/yarn-* \
    /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg
WORKDIR /app
COPY --from=deps /app ./
COPY scripts/run-service.ts scripts/services.ts scripts/healthcheck.ts scripts/
COPY packages/contracts/src packages/contracts/src/
COPY packages/service-kit/src packages/service-kit/src/
COPY packages/calcom-sandbox/src packages/calcom-sandbox/src/
COPY services/webhook-gateway/src services/webhook-gateway/src/
COPY services/appointments/src services/appointments/src/
COPY services/calcom-sync/src services/calcom-sync/src/
COPY services/review/src services/review/src/
# The code stays owned by root and read-only to the process; the services write no files.
USER node
# Outside a container a service listens on loopback only (service-kit config.ts); inside one it
# must listen on every interface, or a published port reaches nothing.
ENV HOST=0.0.0.0
EXPOSE 8080 8081 8082 8083 8090
# On SIGTERM a service closes HTTP, stops its consumers, drains NATS, closes MongoDB and flushes
# its traces, then exits (packages/service-kit shutdown.ts; Docker's default grace is 10 s).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "scripts/healthcheck.ts"]
CMD ["node", "scripts/run-service.ts"]
