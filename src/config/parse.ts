// Turns the raw inputs into typed options, or refuses with an InputError that names the input.
// Pure: reads no environment and touches nothing; runs before any connection is made.

import path from 'node:path'
import type { DeployOptions, HealthCheck, ServiceSpec, SshEndpoint, SshOptions } from './options.js'
import { InputError } from './options.js'
import type { InputName, RawInputs, RunContext } from './inputs.js'
import { generateVersion, VERSION_PATTERN } from '../plan/version.js'
import {
  entriesFor,
  knownHostName,
  parseKnownHosts,
  type KnownHost
} from '../remote/known-hosts.js'

export const DEFAULTS = {
  command: 'deploy',
  method: 'tar',
  'compose-file': 'docker-compose.yml',
  port: '22',
  username: 'root',
  timeout: '30',
  'healthcheck-timeout': '60',
  'healthcheck-interval': '2',
  'skip-healthcheck': 'false',
  'no-rollback': 'false',
  'insecure-skip-host-key-check': 'false',
  'keep-versions': '5',
  'keep-history': '10',
  'lock-timeout': '600',
  'lock-stale-after': '3600',
  'proxy-port': '22',
  'proxy-username': 'root'
} as const satisfies Partial<RawInputs>

const PROJECT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/
const SERVICE_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/
const HOST_PATTERN = /^[A-Za-z0-9._:-]{1,253}$/
const USER_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/
const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}=?$/
const BUILD_ARG_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/
const DEPLOY_PATH_PATTERN = /^\/[A-Za-z0-9._/@+-]*$/

function value(raw: RawInputs, name: InputName): string {
  const v = (raw[name] ?? '').trim()
  if (v !== '') return v
  return (DEFAULTS as Partial<Record<InputName, string>>)[name] ?? ''
}

/** Non-empty lines, trimmed; `#` starts a comment line. */
export function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map(l => l.trim())
    .filter(l => l !== '' && !l.startsWith('#'))
}

function noControlChars(name: InputName, text: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) {
    throw new InputError(name, 'contains control characters (NUL, escape, ...); remove them')
  }
}

export function parseBoolean(name: InputName, text: string): boolean {
  if (['true', 'True', 'TRUE'].includes(text)) return true
  if (['false', 'False', 'FALSE'].includes(text)) return false
  throw new InputError(name, `"${text}" is not a boolean; use true or false`)
}

export function parseInteger(name: InputName, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new InputError(name, `"${text}" is not a whole number from ${min} to ${max}`)
  }
  return Number(text)
}

function parseSeconds(name: InputName, text: string, max: number): number {
  const n = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || n <= 0 || n > max) {
    throw new InputError(name, `"${text}" is not a number of seconds above 0 and at most ${max}`)
  }
  return Math.round(n * 1000)
}

export function parseServices(text: string, workspace: string): ServiceSpec[] {
  const specs = lines(text).map(line => {
    const m = /^([^=\s]+)\s*=\s*(.+)$/.exec(line)
    if (!m) {
      throw new InputError(
        'services',
        `"${line}" is not "service=build-context" or "service=build-context:Dockerfile"`
      )
    }
    const [, name = '', target = ''] = m
    if (!SERVICE_PATTERN.test(name)) {
      throw new InputError(
        'services',
        `service name "${name}" must be lowercase letters, digits, ".", "_" or "-" (start with a letter or digit)`
      )
    }
    const colon = target.lastIndexOf(':')
    const context = colon > 0 ? target.slice(0, colon) : target
    const dockerfile = colon > 0 ? target.slice(colon + 1) : 'Dockerfile'
    if (context === '' || dockerfile === '') {
      throw new InputError('services', `"${line}" has an empty build context or Dockerfile`)
    }
    return { name, context: path.resolve(workspace, context), dockerfile }
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

function parseHost(name: 'host' | 'proxy-host', text: string): string {
  const host = text.replace(/^\[(.*)\]$/, '$1')
  if (!HOST_PATTERN.test(host)) {
    throw new InputError(name, `"${host}" is not a host name or IP address`)
  }
  return host
}

function parseUsername(name: 'username' | 'proxy-username', text: string): string {
  if (!USER_PATTERN.test(text)) throw new InputError(name, `"${text}" is not a valid user name`)
  return text
}

function parsePrivateKey(name: 'key' | 'proxy-key', text: string): string {
  if (!/PRIVATE KEY-----/.test(text)) {
    throw new InputError(
      name,
      'must be the private key text (-----BEGIN … PRIVATE KEY-----), not a path or a public key'
    )
  }
  return text
}

export function parseFingerprints(
  name: 'fingerprint' | 'proxy-fingerprint',
  text: string
): string[] {
  const fingerprints = lines(text)
  for (const f of fingerprints) {
    if (!FINGERPRINT_PATTERN.test(f)) {
      throw new InputError(
        name,
        `"${f}" is not an OpenSSH SHA256 fingerprint (SHA256:<43 base64 characters>)`
      )
    }
  }
  return fingerprints
}

/**
 * Refuses an endpoint whose host key nothing would accept, before any connection is made:
 * it needs a fingerprint or a known-hosts line (not @revoked) for its host and port.
 */
function requirePins(
  endpoint: SshEndpoint,
  knownHosts: readonly KnownHost[],
  input: 'fingerprint' | 'proxy-fingerprint',
  whose: string
): void {
  const { host, port } = endpoint
  if (endpoint.fingerprints.length > 0) return
  if (entriesFor(knownHosts, host, port).some(e => !e.revoked)) return
  const keyscan = `ssh-keyscan -p ${port} ${host}`
  if (knownHosts.length === 0) {
    throw new InputError(
      input,
      `is required to pin ${whose} host key (or give known-hosts). Get it with: ${keyscan} | ssh-keygen -lf - (take the SHA256:… part), or put the lines of ${keyscan} in known-hosts`
    )
  }
  throw new InputError(
    'known-hosts',
    `has no line for ${knownHostName(host, port)} (${whose} host; OpenSSH writes [host]:port for ports other than 22): add the lines of ${keyscan}, or give ${input}`
  )
}

/** The jump host, when proxy-host is set. Its key and passphrase default to the target's. */
function parseProxy(
  raw: RawInputs,
  target: SshEndpoint,
  knownHosts: readonly KnownHost[],
  insecure: boolean
): SshEndpoint | undefined {
  const given = (name: InputName) => (raw[name] ?? '').trim() !== ''
  if (value(raw, 'proxy-host') === '') {
    // A jump host half-configured would otherwise be ignored without a word.
    for (const name of ['proxy-key', 'proxy-passphrase', 'proxy-fingerprint'] as const) {
      if (given(name)) {
        throw new InputError(name, 'is set but proxy-host is empty: set proxy-host, or remove it')
      }
    }
    return undefined
  }
  if (given('proxy-passphrase') && !given('proxy-key')) {
    throw new InputError(
      'proxy-passphrase',
      'is set but proxy-key is empty (the jump host then uses key and passphrase): set proxy-key, or remove it'
    )
  }
  const ownKey = given('proxy-key')
  const passphrase = raw['proxy-passphrase'] ?? ''
  const proxy: SshEndpoint = {
    host: parseHost('proxy-host', value(raw, 'proxy-host')),
    port: parseInteger('proxy-port', value(raw, 'proxy-port'), 1, 65535),
    username: parseUsername('proxy-username', value(raw, 'proxy-username')),
    privateKey: ownKey ? parsePrivateKey('proxy-key', raw['proxy-key']) : target.privateKey,
    passphrase: ownKey ? passphrase || undefined : target.passphrase,
    fingerprints: parseFingerprints('proxy-fingerprint', value(raw, 'proxy-fingerprint'))
  }
  if (!insecure) requirePins(proxy, knownHosts, 'proxy-fingerprint', "the jump host's")
  return proxy
}

function parseSsh(raw: RawInputs): SshOptions {
  const passphrase = raw.passphrase ?? ''
  const target: SshEndpoint = {
    host: parseHost('host', value(raw, 'host')),
    port: parseInteger('port', value(raw, 'port'), 1, 65535),
    username: parseUsername('username', value(raw, 'username')),
    privateKey: parsePrivateKey('key', raw.key ?? ''),
    passphrase: passphrase === '' ? undefined : passphrase,
    fingerprints: parseFingerprints('fingerprint', value(raw, 'fingerprint'))
  }
  const insecure = parseBoolean(
    'insecure-skip-host-key-check',
    value(raw, 'insecure-skip-host-key-check')
  )
  const knownHosts = parseKnownHosts(raw['known-hosts'] ?? '', 'known-hosts')
  if (!insecure) requirePins(target, knownHosts, 'fingerprint', "the server's")
  const proxy = parseProxy(raw, target, knownHosts, insecure)
  return {
    ...target,
    knownHosts,
    insecureSkipHostKeyCheck: insecure,
    timeoutMs: parseSeconds('timeout', value(raw, 'timeout'), 3600),
    ...(proxy ? { proxy } : {})
  }
}

export function parseOptions(raw: RawInputs, ctx: RunContext): DeployOptions {
  for (const [name, text] of Object.entries(raw)) {
    if (name !== 'key' && name !== 'proxy-key')
      noControlChars(name as InputName, text.replace(/\r?\n/g, ''))
  }

  for (const [name, what] of [
    ['services', 'one "service=build-context" a line'],
    ['host', "the server's host name or IP address"],
    ['key', 'the SSH private key text']
  ] as const) {
    if (value(raw, name) === '') throw new InputError(name, `is required: ${what}`)
  }

  const command = value(raw, 'command')
  if (command !== 'deploy') {
    throw new InputError('command', `"${command}" is not supported yet; use deploy`)
  }
  const method = value(raw, 'method')
  if (method !== 'tar') {
    throw new InputError('method', `"${method}" is not supported yet; use tar`)
  }

  const project = value(raw, 'project') || defaultProject(ctx)
  if (!PROJECT_PATTERN.test(project)) {
    throw new InputError(
      'project',
      `"${project}" must be lowercase letters, digits, "_" or "-", starting with a letter or digit (at most 63)`
    )
  }

  const versionText = value(raw, 'version')
  if (!versionText && !/^[0-9a-fA-F]{7,}$/.test(ctx.sha)) {
    throw new InputError(
      'version',
      'is empty and no commit is known to make one from (GITHUB_SHA is unset and the workspace is not a git repository): give a version'
    )
  }
  const version = versionText || generateVersion(ctx.sha, ctx.now)
  if (!VERSION_PATTERN.test(version) || version === 'latest' || version.startsWith('backup-')) {
    throw new InputError(
      'version',
      `"${version}" must match ${VERSION_PATTERN.source} and not be "latest" or start with "backup-"`
    )
  }

  const ssh = parseSsh(raw)

  const workspace = ctx.workspace
  const keepVersions = parseInteger('keep-versions', value(raw, 'keep-versions'), 1, 1000)
  const keepHistory = parseInteger('keep-history', value(raw, 'keep-history'), 1, 100000)

  return {
    command,
    method,
    version,
    project,
    services: parseServices(value(raw, 'services'), workspace),
    composeFile: path.resolve(workspace, value(raw, 'compose-file')),
    buildArgs: parseBuildArgs(value(raw, 'build-args')),
    ssh,
    deployPath: parseDeployPath(value(raw, 'deploy-path') || `/opt/${project}`),
    healthchecks: parseHealthchecks(value(raw, 'healthchecks')),
    healthTimeoutMs: parseSeconds('healthcheck-timeout', value(raw, 'healthcheck-timeout'), 86400),
    healthIntervalMs: parseSeconds(
      'healthcheck-interval',
      value(raw, 'healthcheck-interval'),
      3600
    ),
    skipHealthcheck: parseBoolean('skip-healthcheck', value(raw, 'skip-healthcheck')),
    noRollback: parseBoolean('no-rollback', value(raw, 'no-rollback')),
    keepVersions,
    keepHistory,
    lockTimeoutMs: parseSeconds('lock-timeout', value(raw, 'lock-timeout'), 86400),
    lockStaleAfterMs: parseSeconds('lock-stale-after', value(raw, 'lock-stale-after'), 604800),
    commit: ctx.sha,
    runUrl: ctx.runUrl,
    actor: ctx.actor
  }
}
