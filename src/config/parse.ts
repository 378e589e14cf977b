// Turns the raw inputs into typed options, or refuses with an InputError that names the input.
// Pure: reads no environment and touches nothing; runs before any connection is made.

import { parseBuildOptions } from './parse-build.js'
import path from 'node:path'
import type {
  Command,
  DeployOptions,
  DeploymentsOptions,
  HealthCheck,
  ServiceSpec,
  SshOptions
} from './options.js'
import { COMMANDS, COMPRESSIONS, METHODS, ORCHESTRATORS } from './options.js'
import { InputError } from './input-error.js'
import { renewalInterval } from '../plan/lock.js'
import type { InputName, RawInputs, RunContext } from './inputs.js'
import { generateVersion, VERSION_PATTERN } from '../plan/version.js'
import { lines, noControlChars, parseBoolean, parseInteger, parseSeconds, value } from './values.js'
import { parseSsh } from './parse-ssh.js'
import { parseMaxParallel } from './parse-servers.js'
import { parseDrainTimeout, parseIngress } from './parse-ingress.js'
import { parseRegistry } from './parse-registry.js'
import { parseFiles } from '../plan/release-paths.js'
import { parseOneOff, type OneOffCommand } from '../plan/release-command.js'

export { DEFAULTS } from './values.js'

const PROJECT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/
/** A service's name: the part of its image name after `<project>-`. */
export const SERVICE_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/
const BUILD_ARG_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/
// A Dockerfile stage name, as the `AS` of a `FROM` line allows it.
const STAGE_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]*$/
const DEPLOY_PATH_PATTERN = /^\/[A-Za-z0-9._/@+-]*$/

export function parseServices(text: string, workspace: string): ServiceSpec[] {
  const specs = lines(text).map(line => {
    const m = /^([^=\s]+)\s*=\s*(.+)$/.exec(line)
    if (!m) {
      throw new InputError(
        'services',
        `"${line}" is not "service=build-context", "service=build-context:Dockerfile" or either with "@target" (a stage of the Dockerfile)`
      )
    }
    const [, name = '', build = ''] = m
    if (!SERVICE_PATTERN.test(name)) {
      throw new InputError(
        'services',
        `service name "${name}" must be lowercase letters, digits, ".", "_" or "-" (start with a letter or digit)`
      )
    }
    const { where, stage } = splitStage(line, build)
    const colon = where.lastIndexOf(':')
    const context = colon > 0 ? where.slice(0, colon) : where
    const dockerfile = colon > 0 ? where.slice(colon + 1) : 'Dockerfile'
    if (context === '' || dockerfile === '') {
      throw new InputError('services', `"${line}" has an empty build context or Dockerfile`)
    }
    return {
      name,
      context: path.resolve(workspace, context),
      dockerfile,
      ...(stage ? { target: stage } : {})
    }
  })
  if (specs.length === 0) {
    throw new InputError('services', 'is required: one "service=build-context" a line')
  }
  const seen = new Set<string>()
  for (const s of specs) {
    if (seen.has(s.name)) throw new InputError('services', `service "${s.name}" is listed twice`)
    seen.add(s.name)
  }
  return specs
}

/**
 * `context[:Dockerfile]@stage` into its parts. Only the last `@` counts, and only when a stage name
 * follows it: a folder may have an `@` in its name (`./pkgs/@scope/app`).
 */
function splitStage(line: string, build: string): { where: string; stage?: string } {
  const at = build.lastIndexOf('@')
  if (at < 0) return { where: build }
  const stage = build.slice(at + 1)
  if (stage === '') {
    throw new InputError('services', `"${line}" ends with "@": name the Dockerfile stage after it`)
  }
  return STAGE_PATTERN.test(stage) ? { where: build.slice(0, at), stage } : { where: build }
}

export function parseBuildArgs(text: string): Record<string, string> {
  const args: Record<string, string> = {}
  for (const line of lines(text)) {
    const eq = line.indexOf('=')
    const key = eq > 0 ? line.slice(0, eq).trim() : ''
    if (!BUILD_ARG_PATTERN.test(key)) {
      throw new InputError('build-args', `"${line}" is not KEY=value (KEY: letters, digits, "_")`)
    }
    args[key] = line.slice(eq + 1).trim()
  }
  return args
}

export function parseHealthchecks(text: string): HealthCheck[] {
  return lines(text).map(line => {
    if (/^cmd:/i.test(line)) {
      const command = line.slice(4).trim()
      if (command === '') throw new InputError('healthchecks', `"${line}" has no command`)
      return { kind: 'cmd', command, line }
    }
    let url: URL
    try {
      url = new URL(line)
    } catch {
      throw new InputError(
        'healthchecks',
        `"${line}" is not http://…, https://…, tcp://host:port or "cmd: <command>"`
      )
    }
    if (url.protocol === 'http:' || url.protocol === 'https:') {
      if (url.username !== '' || url.password !== '') {
        // Never echoed: the line holds a secret.
        url.username = url.username ? '***' : ''
        url.password = url.password ? '***' : ''
        throw new InputError(
          'healthchecks',
          `"${url.toString()}" carries credentials: a check sends no credentials, and a URL with them would sit in the log in clear. Check a path that answers without them (a health endpoint), or a cmd: check`
        )
      }
      return { kind: 'http', url: url.toString(), line }
    }
    if (url.protocol === 'tcp:' && url.hostname !== '' && url.port !== '') {
      return {
        kind: 'tcp',
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: Number(url.port),
        line
      }
    }
    throw new InputError(
      'healthchecks',
      `"${line}" is not http://…, https://…, tcp://host:port or "cmd: <command>"`
    )
  })
}

export function parseDeployPath(text: string): string {
  const p = text.replace(/\/+$/, '')
  if (!DEPLOY_PATH_PATTERN.test(p) || p === '' || p.split('/').some(s => s === '..' || s === '.')) {
    throw new InputError(
      'deploy-path',
      `"${text}" must be an absolute path of letters, digits and . _ - @ + /, without ".." and not "/"`
    )
  }
  return p.replace(/\/{2,}/g, '/')
}

export function defaultProject(ctx: RunContext): string {
  const name = ctx.repository?.split('/').pop() || path.basename(ctx.workspace)
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 63)
}

/** Parses the inputs that the command and method need; the others are left empty. */
export function parseOptions(raw: RawInputs, ctx: RunContext): DeployOptions {
  for (const [name, text] of Object.entries(raw)) {
    if (name !== 'key' && name !== 'proxy-key')
      noControlChars(name as InputName, text.replace(/\r?\n/g, ''))
  }

  const command = oneOf('command', value(raw, 'command'), COMMANDS)
  const method = oneOf('method', value(raw, 'method'), METHODS)
  const orchestrator = oneOf('orchestrator', value(raw, 'orchestrator'), ORCHESTRATORS)
  if (
    orchestrator === 'swarm' &&
    method !== 'registry' &&
    (command === 'deploy' || command === 'rollback')
  ) {
    throw new InputError(
      'method',
      `"${method}" cannot deploy to a swarm: every node pulls the images, so orchestrator swarm needs method registry (and the registry input)`
    )
  }
  const compression = oneOf('compression', value(raw, 'compression'), COMPRESSIONS)
  const remote = method !== 'local'
  const required: [InputName, string][] = []
  if (remote) {
    required.push(
      ['host', "the server's host name or IP address (or use method local)"],
      ['key', 'the SSH private key text']
    )
  }
  for (const [name, what] of required) {
    if (value(raw, name) === '') throw new InputError(name, `is required: ${what}`)
  }

  const project = value(raw, 'project') || defaultProject(ctx)
  if (!PROJECT_PATTERN.test(project)) {
    throw new InputError(
      'project',
      `"${project}" must be lowercase letters, digits, "_" or "-", starting with a letter or digit (at most 63)`
    )
  }

  const skipBuild = parseBoolean('skip-build', value(raw, 'skip-build'))
  const version = parseVersion(raw, ctx, command, skipBuild)
  const { servers, ...ssh } = remote ? parseSsh(raw) : { servers: undefined }
  if (orchestrator === 'swarm' && servers && servers.length > 1) {
    throw new InputError(
      'host',
      `lists ${servers.length} servers, but orchestrator swarm deploys through one manager, which spreads the stack over the nodes: give the manager alone`
    )
  }
  const registry = parseRegistry(raw, command === 'deploy' && method === 'registry')

  const workspace = ctx.workspace
  const keepVersions = parseInteger('keep-versions', value(raw, 'keep-versions'), 1, 1000)
  const keepHistory = parseInteger('keep-history', value(raw, 'keep-history'), 1, 100000)
  const servicesText = value(raw, 'services')
  const deployments = parseDeployments(raw, ctx)
  const { releaseCommand, rollbackCommand } = parseReleaseStep(raw, command, orchestrator)
  const ingress = parseIngress(raw, orchestrator)

  return {
    command,
    method,
    orchestrator,
    compression,
    version,
    project,
    services: servicesText === '' ? [] : parseServices(servicesText, workspace),
    skipBuild,
    ...(registry ? { registry } : {}),
    forceUnlock: parseBoolean('force-unlock', value(raw, 'force-unlock')),
    composeFile: path.resolve(workspace, value(raw, 'compose-file')),
    workspace,
    files: command === 'deploy' ? parseFiles(value(raw, 'files')) : [],
    buildArgs: parseBuildArgs(value(raw, 'build-args')),
    build: parseBuildOptions(raw, ctx.sourceDateEpoch),
    ...(releaseCommand ? { releaseCommand } : {}),
    ...(rollbackCommand ? { rollbackCommand } : {}),
    releaseTimeoutMs: parseSeconds('release-timeout', value(raw, 'release-timeout'), 86400),
    ...(servers ? { ssh: ssh as SshOptions, servers } : {}),
    maxParallel: parseMaxParallel(value(raw, 'max-parallel')),
    deployPath: parseDeployPath(value(raw, 'deploy-path') || `/opt/${project}`),
    healthchecks: parseHealthchecks(value(raw, 'healthchecks')),
    healthTimeoutMs: parseSeconds('healthcheck-timeout', value(raw, 'healthcheck-timeout'), 86400),
    healthIntervalMs: parseSeconds(
      'healthcheck-interval',
      value(raw, 'healthcheck-interval'),
      3600
    ),
    healthMonitorMs: parseSeconds(
      'healthcheck-monitor',
      value(raw, 'healthcheck-monitor'),
      3600,
      true
    ),
    skipHealthcheck: parseBoolean('skip-healthcheck', value(raw, 'skip-healthcheck')),
    ...(ingress ? { ingress } : {}),
    drainTimeoutMs: parseDrainTimeout(raw),
    noRollback: parseBoolean('no-rollback', value(raw, 'no-rollback')),
    keepVersions,
    keepHistory,
    lockTimeoutMs: parseSeconds('lock-timeout', value(raw, 'lock-timeout'), 86400),
    lockStaleAfterMs: parseLockStaleAfter(value(raw, 'lock-stale-after')),
    ...(deployments ? { deployments } : {}),
    commit: ctx.sha,
    runUrl: ctx.runUrl,
    actor: ctx.actor
  }
}

/**
 * `release-command` (deploy only) and `rollback-command`. A swarm has no one-off container of the
 * stack to run them in: refused there.
 */
function parseReleaseStep(
  raw: RawInputs,
  command: Command,
  orchestrator: DeployOptions['orchestrator']
): { releaseCommand?: OneOffCommand; rollbackCommand?: OneOffCommand } {
  const releaseCommand =
    command === 'deploy' ? parseOneOff('release-command', value(raw, 'release-command')) : undefined
  const rollbackCommand = parseOneOff('rollback-command', value(raw, 'rollback-command'))
  if (orchestrator === 'swarm') {
    const given = value(raw, 'release-command') !== '' ? 'release-command' : 'rollback-command'
    if (value(raw, given) !== '') {
      throw new InputError(
        given,
        'is not supported with orchestrator swarm: a stack has no one-off container to run it in. Run migrations from a job of their own (a one-shot service with restart_policy condition none), or deploy with orchestrator compose'
      )
    }
  }
  return {
    ...(releaseCommand ? { releaseCommand } : {}),
    ...(rollbackCommand ? { rollbackCommand } : {})
  }
}

const DEFAULT_API_URL = 'https://api.github.com'

/** `environment`, `environment-url`, `github-token`: undefined when `environment` is empty. */
export function parseDeployments(raw: RawInputs, ctx: RunContext): DeploymentsOptions | undefined {
  const environment = value(raw, 'environment')
  const environmentUrl = value(raw, 'environment-url')
  if (environment === '') {
    if (environmentUrl !== '') {
      throw new InputError(
        'environment-url',
        'is set but environment is empty: name the environment too'
      )
    }
    return undefined
  }
  if (environment.length > 255) {
    throw new InputError('environment', 'is longer than 255 characters, the most GitHub allows')
  }
  if (environmentUrl !== '') {
    let url: URL | undefined
    try {
      url = new URL(environmentUrl)
    } catch {
      url = undefined
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new InputError(
        'environment-url',
        `"${environmentUrl}" is not an http:// or https:// URL`
      )
    }
  }
  return {
    environment,
    ...(environmentUrl ? { environmentUrl } : {}),
    token: value(raw, 'github-token'),
    repository: ctx.repository ?? '',
    apiUrl: (ctx.apiUrl || DEFAULT_API_URL).replace(/\/+$/, '')
  }
}

function oneOf<T extends string>(name: InputName, text: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(text)) return text as T
  throw new InputError(name, `"${text}" is not one of ${allowed.join(', ')}`)
}

/**
 * The version given, checked; or the generated one for a deploy that builds. Empty when the
 * run decides it: a rollback to the previous good version, or the newest built (skip-build).
 */
function parseVersion(
  raw: RawInputs,
  ctx: RunContext,
  command: Command,
  skipBuild: boolean
): string {
  const given = value(raw, 'version')
  if (given === '') {
    if (command !== 'deploy' || skipBuild) return ''
    if (!/^[0-9a-fA-F]{7,}$/.test(ctx.sha)) {
      throw new InputError(
        'version',
        'is empty and no commit is known to make one from (no GITHUB_SHA, and the working directory is not a git repository): give a version'
      )
    }
    return generateVersion(ctx.sha, ctx.now)
  }
  if (!VERSION_PATTERN.test(given) || given === 'latest' || given.startsWith('backup-')) {
    throw new InputError(
      'version',
      `"${given}" must match ${VERSION_PATTERN.source} and not be "latest" or start with "backup-"`
    )
  }
  return given
}

/**
 * lock-stale-after, at least 3 times the lock's renewal interval: a live deploy's lock must be
 * able to miss two renewals before another deploy may judge it abandoned.
 */
export function parseLockStaleAfter(text: string): number {
  const ms = parseSeconds('lock-stale-after', text, 604800)
  if (ms < 3 * renewalInterval(ms)) {
    throw new InputError(
      'lock-stale-after',
      `"${text}" is below its floor of ${(3 * renewalInterval(ms)) / 1000} s: a running deploy renews its lock every ${renewalInterval(ms) / 1000} s at most, and a lock must be able to miss two renewals before it looks abandoned`
    )
  }
  return ms
}
