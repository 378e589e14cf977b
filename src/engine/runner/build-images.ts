// The build phase: every service's image, built on the runner's engine. With `docker buildx` on
// the runner (GitHub's runners have it), BuildKit builds every service at once; without it, the
// engine's legacy builder builds them one after another, and what only BuildKit can build is
// refused before anything else happens.

import { readFileSync } from 'node:fs'
import path from 'node:path'
import type Docker from 'dockerode'
import type { DeployOptions, ServiceSpec } from '../../config/options.js'
import { InputError } from '../../config/input-error.js'
import { cacheLine, secretEnvironment } from '../../config/parse-build.js'
import { buildImage } from '../../docker/build.js'
import { runDocker } from '../../docker/buildx.js'
import { failedStep } from '../../docker/buildx-progress.js'
import { buildxBuild, buildxInspect, buildxVersion } from '../../docker/buildx-commands.js'
import {
  exportsCache,
  parseBuildxInspect,
  parseBuildxVersion,
  rewritesTimestamps,
  type Builder
} from '../../docker/buildx-detect.js'
import { declaresArg, needsBuildKit, secretMounts } from '../../docker/dockerfile.js'
import { versionTag } from '../../plan/images.js'
import type { Log } from '../io.js'
import type { BuildReport } from '../commands/result.js'

const BUILDX_HELP =
  'install buildx on the runner (docker/setup-buildx-action, or the docker-buildx-plugin package), as GitHub-hosted runners have it'

/** `environment`: the runner's, which buildx runs with (the secrets' variables added). */
export async function buildImages(
  o: DeployOptions,
  docker: Docker,
  environment: NodeJS.ProcessEnv,
  log: Log
): Promise<BuildReport> {
  const builder = await findBuilder(o, environment, log)
  if (builder) {
    return {
      builder: `BuildKit (builder ${builder.name}, driver ${builder.driver}), side by side`,
      services: await buildAllWithBuildx(o, docker, builder, environment, log)
    }
  }
  refuseWhatNeedsBuildKit(o)
  const services: BuildReport['services'] = []
  for (const s of o.services) {
    const started = Date.now()
    await buildLegacy(o, docker, s, log)
    services.push({ service: s.name, ms: Date.now() - started })
  }
  return { builder: "the engine's legacy builder, one after another", services }
}

/** The buildx builder to use, or undefined when the runner has no `docker buildx`. */
async function findBuilder(
  o: DeployOptions,
  environment: NodeJS.ProcessEnv,
  log: Log
): Promise<Builder | undefined> {
  const version = await runDocker(buildxVersion(), environment)
  const buildx = version.code === 0 ? parseBuildxVersion(version.output) : undefined
  if (!buildx) {
    if (o.build.builder !== undefined) {
      throw new InputError(
        'builder',
        `is "${o.build.builder}", but the runner has no docker buildx: ${BUILDX_HELP}`
      )
    }
    log.info(
      "no docker buildx on the runner: the engine's legacy builder builds the images, one after another"
    )
    return undefined
  }
  const inspect = await runDocker(buildxInspect(o.build.builder), environment)
  const builder = inspect.code === 0 ? parseBuildxInspect(inspect.output) : undefined
  if (!builder) {
    const said = inspect.tail
      .filter(l => l.trim() !== '')
      .slice(-3)
      .join(' ')
    if (o.build.builder !== undefined) {
      throw new InputError(
        'builder',
        `"${o.build.builder}" is not a buildx builder of this runner (docker buildx ls): ${said}`
      )
    }
    throw new Error(`docker buildx ${buildx} has no builder to use: ${said}`)
  }
  const cacheTypes = [
    ...o.build.cacheTo.map(e => e.type),
    ...o.services.flatMap(s => (s.compose?.cacheTo ?? []).map(cacheType))
  ]
  for (const type of cacheTypes) {
    if (!exportsCache(builder, type)) {
      throw new InputError(
        'cache-to',
        `type=${type}: the builder ${builder.name} (driver ${builder.driver}, the engine's own) exports only type=inline cache; create a builder that exports it (docker/setup-buildx-action does; or docker buildx create --driver docker-container --use) and name it in builder`
      )
    }
  }
  log.info(
    `building with BuildKit: docker buildx ${buildx}, builder ${builder.name} (driver ${builder.driver}${builder.buildkit ? `, BuildKit ${builder.buildkit}` : ''})`
  )
  return builder
}

/** Every service at once; each line of a service's build log starts with `[<service>] `. */
async function buildAllWithBuildx(
  o: DeployOptions,
  docker: Docker,
  builder: Builder,
  environment: NodeJS.ProcessEnv,
  log: Log
): Promise<BuildReport['services']> {
  // The secrets' values ride in the environment of buildx alone.
  const env = { ...environment, ...secretEnvironment(o.build.secrets) }
  const results = await Promise.allSettled(
    o.services.map(async s => {
      const tag = versionTag(o.project, s.name, o.version)
      const started = Date.now()
      const dockerfile = dockerfileOf(s)
      const argv = buildxBuild({
        tag,
        context: s.context,
        dockerfile: path.resolve(s.context, s.dockerfile),
        ...(s.target !== undefined ? { target: s.target } : {}),
        buildArgs: buildArgsFor(o, s, dockerfile),
        secrets: [
          ...o.build.secrets.map(({ id, env }) => ({ id, env })),
          ...(s.compose?.secrets ?? [])
        ],
        network: s.compose?.network ?? o.build.network,
        ...(o.build.builder !== undefined ? { builder: o.build.builder } : {}),
        cacheFrom: [
          ...o.build.cacheFrom.map(e => cacheLine(e, s.name)),
          ...(s.compose?.cacheFrom ?? [])
        ],
        cacheTo: [...o.build.cacheTo.map(e => cacheLine(e, s.name)), ...(s.compose?.cacheTo ?? [])],
        output: 'load',
        ...(o.build.sourceDateEpoch !== undefined
          ? {
              sourceDateEpoch: o.build.sourceDateEpoch,
              rewriteTimestamp: rewritesTimestamps(builder)
            }
          : {}),
        progress: 'plain'
      })
      warnMissingSecrets(o, s, dockerfile, log)
      log.info(
        `[${s.name}] building ${tag} from ${s.context} (${s.dockerfile}${s.target ? `, stage ${s.target}` : ''})`
      )
      const lines: string[] = []
      const r = await runDocker(argv, env, line => {
        lines.push(line)
        if (line.trim() !== '') log.info(`[${s.name}] ${line}`)
      })
      if (r.code !== 0) {
        const failed = failedStep(lines)
        throw new Error(
          failed
            ? `building ${tag} failed at "${failed.step}": ${failed.error}`
            : `building ${tag} failed (docker buildx build exited ${r.code}):\n${r.tail.join('\n')}`
        )
      }
      // --load put it in the engine: the transfer reads it from there.
      await docker.getImage(tag).inspect()
      const ms = Date.now() - started
      log.info(`[${s.name}] built ${tag} in ${(ms / 1000).toFixed(1)} s`)
      return { service: s.name, ms }
    })
  )
  const failed = results.flatMap(r => (r.status === 'rejected' ? [r.reason as unknown] : []))
  if (failed.length > 0) throw failed[0]
  return results.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []))
}

/**
 * BuildKit runs a step whose secret was not given without the mount, and says nothing: the step
 * fails on a missing file, or worse, works without it. Say which secret is missing first.
 */
function warnMissingSecrets(o: DeployOptions, s: ServiceSpec, dockerfile: string, log: Log): void {
  const given = new Set([...o.build.secrets, ...(s.compose?.secrets ?? [])].map(x => x.id))
  for (const id of secretMounts(dockerfile).filter(id => !given.has(id))) {
    log.warn(
      `the Dockerfile of "${s.name}" mounts the secret "${id}", which build-secrets does not give: BuildKit runs that step without it`
    )
  }
}

/** The text of a service's Dockerfile. */
const dockerfileOf = (s: ServiceSpec): string =>
  readFileSync(path.resolve(s.context, s.dockerfile), 'utf8')

/** The build arguments of one service: build-args, and DEPLOY_VERSION where it is declared. */
function buildArgsFor(
  o: DeployOptions,
  s: ServiceSpec,
  dockerfile: string
): Record<string, string> {
  // DEPLOY_VERSION lets an image know its own version (e.g. to serve it); passed only where
  // the Dockerfile declares it, so the builder does not warn that it was not consumed.
  const version: Record<string, string> = declaresArg(dockerfile, 'DEPLOY_VERSION')
    ? { DEPLOY_VERSION: o.version }
    : {}
  // The job's build-args win over a compose file's, as docker compose build --build-arg does.
  return { ...s.compose?.args, ...o.buildArgs, ...version }
}

/** The type of a buildx cache line (`type=…`; a bare reference is a registry one). */
function cacheType(line: string): string {
  return /(?:^|,)type=([^,]+)/.exec(line)?.[1] ?? 'registry'
}

/**
 * Without buildx: the inputs that only buildx takes, and a Dockerfile that only BuildKit builds,
 * are refused, naming the input (and the line), before anything is built or touched.
 */
function refuseWhatNeedsBuildKit(o: DeployOptions): void {
  const given: [string, boolean][] = [
    ['build-secrets', o.build.secrets.length > 0],
    ['cache-from', o.build.cacheFrom.length > 0],
    ['cache-to', o.build.cacheTo.length > 0]
  ]
  for (const [name, set] of given) {
    if (set)
      throw new InputError(
        name,
        `needs docker buildx on the runner, which it does not have: ${BUILDX_HELP}`
      )
  }
  for (const s of o.services) {
    const c = s.compose
    if (c && (c.secrets.length > 0 || c.cacheFrom.length > 0 || c.cacheTo.length > 0)) {
      throw new InputError(
        'compose-file',
        `services.${s.name}.build has secrets or cache_from/cache_to, which need docker buildx on the runner, which it does not have: ${BUILDX_HELP}`
      )
    }
  }
  for (const s of o.services) {
    const file = path.resolve(s.context, s.dockerfile)
    const found = needsBuildKit(dockerfileOf(s))
    if (found) {
      throw new InputError(
        'services',
        `the Dockerfile of "${s.name}" (${file}, line ${found.line}) uses ${found.feature}, which needs BuildKit, and the runner has no docker buildx: ${BUILDX_HELP}`
      )
    }
  }
}

async function buildLegacy(
  o: DeployOptions,
  docker: Docker,
  s: ServiceSpec,
  log: Log
): Promise<void> {
  const tag = versionTag(o.project, s.name, o.version)
  log.info(`building ${tag} from ${s.context} (${s.dockerfile})`)
  await buildImage(
    docker,
    {
      context: s.context,
      dockerfile: s.dockerfile,
      ...(s.target !== undefined ? { target: s.target } : {}),
      network: s.compose?.network ?? o.build.network,
      ...(o.build.sourceDateEpoch !== undefined ? { fileTime: o.build.sourceDateEpoch } : {}),
      tag,
      buildArgs: buildArgsFor(o, s, dockerfileOf(s))
    },
    // Behind the service's name: a line of the build never reads as a workflow command.
    line => log.info(`[${s.name}] ${line}`)
  )
}
