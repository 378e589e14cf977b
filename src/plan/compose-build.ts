// What to build when the `services` input is empty: each compose service with a `build:` section
// (string or object form), read as compose reads it, into a build request. Paths are resolved
// from the compose file's folder, the Dockerfile from the context, as compose does. Pure.

import path from 'node:path'
import { composeRoot, composeServiceBodies, record } from './compose-images.js'
import { interpolate, InterpolationError, VERSION_MARK } from './compose-vars.js'
import { versionTag } from './images.js'

/** A build secret: read by buildx from a variable of its environment, or from a file. */
export type ComposeBuildSecret = { id: string; env: string } | { id: string; file: string }

export interface ComposeBuild {
  service: string
  /** `<project>-<service>:<version>`, as with the `services` input. */
  tag: string
  /** Absolute path of the build context. */
  context: string
  /** Absolute path of the Dockerfile: buildx reads `-f` from its working directory. */
  dockerfile: string
  target?: string
  args: Record<string, string>
  secrets: ComposeBuildSecret[]
  /** buildx cache lines, as written (`type=registry,ref=…` or a reference). */
  cacheFrom: string[]
  cacheTo: string[]
  /** `build.network`, when set. */
  network?: string
}

export interface ComposeBuildPlan {
  builds: ComposeBuild[]
  /** Refusals, each naming the key (`services.web.build.context`) and what to write. */
  problems: string[]
  /** Keys the action does not act on: said, not refused. */
  warnings: string[]
}

const SUPPORTED = [
  'context',
  'dockerfile',
  'target',
  'args',
  'secrets',
  'cache_from',
  'cache_to',
  'network'
]
const REMOTE_CONTEXT = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@)/i

/**
 * `vars`: the variables compose would take from the runner's environment (not empty ones);
 * DEPLOY_VERSION is `version`.
 */
export function composeBuilds(
  text: string,
  composeFile: string,
  project: string,
  version: string,
  vars: Readonly<Record<string, string>>
): ComposeBuildPlan {
  const root = composeRoot(text)
  const bodies = composeServiceBodies(text)
  if (typeof root === 'string' || typeof bodies === 'string') {
    return {
      builds: [],
      problems: [typeof bodies === 'string' ? bodies : String(root)],
      warnings: []
    }
  }
  const dir = path.dirname(composeFile)
  const declared = record(root.secrets)
  const plan: ComposeBuildPlan = { builds: [], problems: [], warnings: [] }
  for (const [service, body] of bodies) {
    const build = body?.build
    if (build === undefined || build === null) continue
    const key = `services.${service}.build`
    const before = plan.problems.length
    const read = new Reader(key, version, vars, plan.problems)
    const b: Record<string, unknown> =
      typeof build === 'string' ? { context: build } : record(build)
    for (const k of Object.keys(b).filter(k => !SUPPORTED.includes(k))) {
      plan.warnings.push(`${key}.${k} is not supported by the action and is left out of the build`)
    }
    const contextText = read.text('context', b.context ?? '.')
    if (contextText !== undefined && REMOTE_CONTEXT.test(contextText)) {
      plan.problems.push(
        `${key}.context "${contextText}" is a remote context, which the action does not build: check the code out in the job and give its folder`
      )
      continue
    }
    const context = path.resolve(dir, contextText ?? '.')
    const dockerfile = path.resolve(
      context,
      read.text('dockerfile', b.dockerfile ?? 'Dockerfile') ?? ''
    )
    const target = b.target === undefined ? undefined : read.text('target', b.target)
    const network = b.network === undefined ? undefined : read.text('network', b.network)
    const request: ComposeBuild = {
      service,
      tag: versionTag(project, service, version),
      context,
      dockerfile,
      ...(target ? { target } : {}),
      args: read.args(b.args),
      secrets: buildSecrets(key, b.secrets, declared, dir, vars, read, plan.problems),
      cacheFrom: read.list('cache_from', b.cache_from),
      cacheTo: read.list('cache_to', b.cache_to),
      ...(network ? { network } : {})
    }
    // A section with a problem is not built half-read.
    if (plan.problems.length === before) plan.builds.push(request)
  }
  return plan
}

/** Reads the values of one `build:` section, interpolated; each problem names its key. */
class Reader {
  constructor(
    private readonly key: string,
    private readonly version: string,
    private readonly vars: Readonly<Record<string, string>>,
    private readonly problems: string[]
  ) {}

  text(name: string, value: unknown): string | undefined {
    const where = `${this.key}.${name}`
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      this.problems.push(`${where} is not a string`)
      return undefined
    }
    try {
      const resolved = interpolate(String(value), this.vars)
      if (resolved.unknown.length > 0) {
        this.problems.push(
          `${where} uses ${resolved.unknown.map(v => `$${v}`).join(', ')}, which the job's environment does not set (defaults of unset variables are not applied here): set it in the job's env, or write the value`
        )
        return undefined
      }
      return resolved.text.split(VERSION_MARK).join(this.version)
    } catch (e) {
      if (!(e instanceof InterpolationError)) throw e
      this.problems.push(`${where}: ${e.message}`)
      return undefined
    }
  }

  /** `args:` as a mapping or a list of `KEY=value`; a KEY alone takes the variable's value. */
  args(args: unknown): Record<string, string> {
    const out: Record<string, string> = {}
    const entries: [string, unknown][] = Array.isArray(args)
      ? args.map(item => {
          const s = String(item)
          const eq = s.indexOf('=')
          return eq < 0 ? [s, null] : [s.slice(0, eq), s.slice(eq + 1)]
        })
      : Object.entries(record(args))
    for (const [name, value] of entries) {
      if (value === null || value === undefined) {
        // As compose: an argument without a value is passed only when the variable is set.
        const fromEnv = name === 'DEPLOY_VERSION' ? this.version : this.vars[name]
        if (fromEnv !== undefined) out[name] = fromEnv
        continue
      }
      const text = this.text(`args.${name}`, value)
      if (text !== undefined) out[name] = text
    }
    return out
  }

  list(name: string, value: unknown): string[] {
    if (value === undefined || value === null) return []
    const items = Array.isArray(value) ? value : [value]
    return items.flatMap((item, i) => this.text(`${name}[${i}]`, item) ?? [])
  }
}

/**
 * `build.secrets`: names of the file's top-level `secrets:` (short form), or `{source, target}`,
 * `target` being the id the Dockerfile mounts (default: the source's name).
 */
function buildSecrets(
  key: string,
  secrets: unknown,
  declared: Record<string, unknown>,
  dir: string,
  vars: Readonly<Record<string, string>>,
  read: Reader,
  problems: string[]
): ComposeBuildSecret[] {
  if (secrets === undefined || secrets === null) return []
  const out: ComposeBuildSecret[] = []
  ;(Array.isArray(secrets) ? secrets : [secrets]).forEach((item, i) => {
    const long = record(item)
    const source = typeof item === 'string' ? item : String(long.source ?? '')
    const id = typeof item === 'string' ? item : String(long.target ?? source)
    const top = declared[source]
    if (source === '' || top === undefined) {
      problems.push(
        `${key}.secrets[${i}] names the secret "${source}", which the top-level secrets: does not declare: declare it there with file: or environment:`
      )
      return
    }
    const decl = record(top)
    if (typeof decl.environment === 'string') {
      // buildx builds without a secret whose variable is unset, so the RUN step fails later.
      if (vars[decl.environment] === undefined) {
        problems.push(
          `secrets.${source} (used by ${key}) comes from $${decl.environment}, which the job's environment does not set`
        )
      } else out.push({ id, env: decl.environment })
    } else if (decl.file !== undefined) {
      const file = read.text(`secrets[${i}] (secrets.${source}.file)`, decl.file)
      if (file !== undefined) out.push({ id, file: path.resolve(dir, file) })
    } else {
      problems.push(
        `secrets.${source} (used by ${key}) has neither file: nor environment:, so the build cannot read it: give one of them`
      )
    }
  })
  return out
}
