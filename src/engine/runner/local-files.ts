// Checks the files a deploy reads on the runner, before anything is built or touched.

import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import type { DeployOptions, ServiceSpec } from '../../config/options.js'
import { composeBuilds } from '../../plan/compose-build.js'
import { InputError } from '../../config/input-error.js'
import { SERVICE_PATTERN } from '../../config/parse.js'
import { checkComposeImages, composeServiceBodies } from '../../plan/compose-images.js'
import { swarmIgnoredKeys, swarmVersionProblem } from '../../plan/swarm-stack.js'
import { LABEL, stackPlan } from '../../plan/stack-plan.js'

/**
 * The services to build when the `services` input is empty: the compose file's services with a
 * `build:` section. Refuses a section it cannot build (naming its key) and a deploy with neither.
 * `vars`: the job's environment, as compose would read it.
 */
export function composeServices(
  o: DeployOptions,
  environment: Readonly<Record<string, string | undefined>>,
  notice: (m: string) => void
): ServiceSpec[] {
  const name = path.basename(o.composeFile)
  // As compose: an empty variable counts as unset.
  const vars = Object.fromEntries(
    Object.entries(environment).filter((e): e is [string, string] => (e[1] ?? '') !== '')
  )
  const plan = composeBuilds(
    readFileSync(o.composeFile, 'utf8'),
    o.composeFile,
    o.project,
    o.version,
    vars
  )
  if (plan.problems.length > 0) {
    throw new InputError('compose-file', `${name}: ${plan.problems.join('; ')}`)
  }
  for (const w of plan.warnings) notice(`${name}: ${w}`)
  if (plan.builds.length === 0) {
    throw new InputError(
      'services',
      `is required: one "service=build-context" a line, unless services of ${name} have a build: section`
    )
  }
  const bad = plan.builds.find(b => !SERVICE_PATTERN.test(b.service))
  if (bad) {
    throw new InputError(
      'compose-file',
      `${name}: service "${bad.service}" has a build: section, but its image would be ${o.project}-${bad.service}, and image names are lowercase letters, digits and . _ -: rename the service, or list what to build in services`
    )
  }
  return plan.builds.map(b => ({
    name: b.service,
    context: b.context,
    dockerfile: path.relative(b.context, b.dockerfile),
    ...(b.target !== undefined ? { target: b.target } : {}),
    compose: {
      args: b.args,
      secrets: b.secrets,
      cacheFrom: b.cacheFrom,
      cacheTo: b.cacheTo,
      ...(b.network !== undefined ? { network: b.network } : {})
    }
  }))
}

export function checkLocalFiles(o: DeployOptions): void {
  if (!existsSync(o.composeFile) || !statSync(o.composeFile).isFile()) {
    throw new InputError('compose-file', `${o.composeFile} does not exist or is not a file`)
  }
  // skip-build ships images already built: their build contexts need not be here.
  for (const s of o.skipBuild ? [] : o.services) {
    if (!existsSync(s.context) || !statSync(s.context).isDirectory()) {
      throw new InputError(
        'services',
        `build context of "${s.name}" (${s.context}) is not a folder`
      )
    }
    const dockerfile = path.resolve(s.context, s.dockerfile)
    if (!existsSync(dockerfile)) {
      throw new InputError('services', `Dockerfile of "${s.name}" (${dockerfile}) does not exist`)
    }
  }
}

/**
 * Refuses a compose file that would not run this deploy's images (not YAML, no services, a built
 * image pinned to a fixed tag or unused); returns warnings for images it cannot judge.
 */
export function checkComposeFile(o: DeployOptions): string[] {
  const verdict = checkComposeImages(
    readFileSync(o.composeFile, 'utf8'),
    o.project,
    o.services.map(s => s.name),
    o.orchestrator === 'swarm' ? o.registry?.url : undefined
  )
  if (verdict.problems.length > 0) {
    throw new InputError(
      'compose-file',
      verdict.problems.map(p => `${path.basename(o.composeFile)}: ${p}`).join('\n')
    )
  }
  return verdict.warnings
}

/**
 * Orchestrator swarm: refuses a compose file whose `version` `docker stack deploy` would refuse;
 * returns warnings for what it would ignore.
 */
export function checkSwarmFile(o: DeployOptions): string[] {
  const text = readFileSync(o.composeFile, 'utf8')
  const name = path.basename(o.composeFile)
  const problem = swarmVersionProblem(text)
  if (problem) throw new InputError('compose-file', `${name}: ${problem}`)
  return swarmIgnoredKeys(text).map(w => `${name}: ${w}`)
}

/**
 * The services of release-command and rollback-command must be services of the compose file: the
 * rollback command of this version runs with this file when a rollback leaves it.
 */
export function checkReleaseServices(o: DeployOptions): void {
  const given = [
    ['release-command', o.releaseCommand],
    ['rollback-command', o.rollbackCommand]
  ] as const
  if (!given.some(([, c]) => c)) return
  const services = composeServiceBodies(readFileSync(o.composeFile, 'utf8'))
  if (typeof services === 'string') return // checkComposeFile refuses it, saying why
  for (const [input, command] of given) {
    if (command && !services.has(command.service)) {
      throw new InputError(
        input,
        `"${command.service}" is not a service of ${path.basename(o.composeFile)} (it has ${[...services.keys()].join(', ')}): the first word names the compose service to run`
      )
    }
  }
}

/**
 * Refuses what a start-first switch or a route cannot do (each problem names its service), and
 * `ingress: caddy` with no service to route; returns warnings for labels nothing will read.
 */
export function checkStackPlan(o: DeployOptions): string[] {
  const name = path.basename(o.composeFile)
  const plan = stackPlan(readFileSync(o.composeFile, 'utf8'))
  if (plan.problems.length > 0) {
    throw new InputError('compose-file', plan.problems.map(p => `${name}: ${p}`).join('\n'))
  }
  const routed = plan.services.filter(s => s.route)
  if (o.ingress && o.orchestrator === 'compose' && routed.length === 0) {
    throw new InputError(
      'ingress',
      `is caddy, but no service of ${name} has a route: label the services it should serve with ${LABEL.host} (host names) and ${LABEL.port} (the container port), or set ingress none`
    )
  }
  if (!o.ingress && routed.length > 0) {
    return [
      `${name}: ${routed.map(s => s.name).join(', ')} ${routed.length === 1 ? 'has' : 'have'} ${LABEL.host} labels, but ingress is none: no route is made (set ingress caddy)`
    ]
  }
  return []
}
