// Which compose services a switch can leave running: those whose definition is the same in the
// running version and the new one, as compose reads it (each file interpolated with its own
// DEPLOY_VERSION, relative paths resolved in its own project directory), where the only allowed
// difference is a built image's tag, and only when both tags name the same image ID on the server.
// Compose itself would recreate such a service, because the tag is part of its config hash. Pure.

import { posix } from 'node:path'
import { builtImageUsers, composeRoot, record } from './compose-images.js'
import { interpolate, InterpolationError, VERSION_MARK } from './compose-vars.js'
import { versionTag } from './images.js'
import { sameJson } from './same-json.js'

/** One version as the switch sees it: its stored compose file and where compose runs it. */
export interface ComposeVersion {
  version: string
  text: string
  /** Its built services (the images `<project>-<service>`). */
  services: readonly string[]
  /** Compose's project directory for it: relative paths resolve there. */
  projectDirectory: string
}

export interface UnchangedQuestion {
  project: string
  running: ComposeVersion
  next: ComposeVersion
  /** The image ID on the server of each version tag (`<project>-<service>:<version>`) of both. */
  imageIds: Readonly<Record<string, string | undefined>>
  /** Services whose containers are not all running: compose must start or recreate them. */
  notRunning?: readonly string[]
}

export interface ChangedService {
  service: string
  reason: string
}

export interface UnchangedAnswer {
  /** Services of the new version whose containers stay, in the compose file's order. */
  unchanged: string[]
  /** Every other service of the new version, with why it is recreated. */
  changed: ChangedService[]
}

/** Top-level sections whose change may alter any service (compared whole: the safe side). */
const SHARED = ['networks', 'volumes', 'configs', 'secrets'] as const

export function unchangedServices(q: UnchangedQuestion): UnchangedAnswer {
  const next = parse(q.next)
  const names = next ? Object.keys(next.services) : []
  const all = (reason: string): UnchangedAnswer => ({
    unchanged: [],
    changed: names.map(service => ({ service, reason }))
  })
  const running = parse(q.running)
  if (!next || !running) return all('a compose file does not parse')
  const shared = SHARED.find(k => !sameJson(running.root[k], next.root[k]))
  if (shared) return all(`the top-level ${shared}: section differs`)

  const reasons = new Map<string, string>()
  for (const name of names) {
    const why = q.notRunning?.includes(name)
      ? 'its containers are not all running'
      : difference(q, name, running, next)
    if (why) reasons.set(name, why)
  }
  spreadToSharers(next.services, reasons)
  return {
    unchanged: names.filter(n => !reasons.has(n)),
    changed: names.flatMap(n => {
      const reason = reasons.get(n)
      return reason ? [{ service: n, reason }] : []
    })
  }
}

interface Parsed {
  root: Record<string, unknown>
  /** Service bodies, interpolated, relative paths resolved, `image` and `build` left out. */
  services: Record<string, Record<string, unknown>>
  /** Each service's `image:`, interpolated. */
  images: Record<string, unknown>
}

function parse(v: ComposeVersion): Parsed | undefined {
  const root = composeRoot(v.text)
  if (typeof root === 'string') return undefined
  const services: Parsed['services'] = {}
  const images: Parsed['images'] = {}
  try {
    for (const [name, body] of Object.entries(record(root.services))) {
      // build: is left out of compose's config hash too; the image ID stands for what it made.
      const rest = { ...record(body) }
      const image = rest.image
      delete rest.image
      delete rest.build
      services[name] = record(resolve(withPaths(rest, v.projectDirectory), v.version))
      images[name] = resolve(image, v.version)
    }
    const top: Record<string, unknown> = { ...root }
    for (const k of SHARED) top[k] = resolve(withFilePaths(top[k], v.projectDirectory), v.version)
    return { root: top, services, images }
  } catch (e) {
    if (e instanceof InterpolationError) return undefined
    throw e
  }
}

/** Why `name` differs between the two versions, or undefined when it does not. */
function difference(
  q: UnchangedQuestion,
  name: string,
  running: Parsed,
  next: Parsed
): string | undefined {
  const before = running.services[name]
  const after = next.services[name]
  if (!before || !after) return 'it is new in this version'
  if (!sameJson(before, after)) return 'its definition differs'
  const was = builtUser(q.project, q.running, name)
  const is = builtUser(q.project, q.next, name)
  if (was === undefined && is === undefined) {
    return sameJson(running.images[name], next.images[name]) ? undefined : 'its image differs'
  }
  if (was !== is) return 'its image differs'
  const oldRef = versionTag(q.project, was ?? '', q.running.version)
  const newRef = versionTag(q.project, is ?? '', q.next.version)
  const oldId = q.imageIds[oldRef]
  const newId = q.imageIds[newRef]
  if (!oldId || !newId) return `the image ID of ${oldId ? newRef : oldRef} is unknown`
  return oldId === newId ? undefined : `its image changed (${newRef} is not ${oldRef})`
}

function builtUser(project: string, v: ComposeVersion, name: string): string | undefined {
  return builtImageUsers(v.text, project, v.services).get(name)
}

/**
 * A service whose container is tied to another's container (its network, IPC or PID namespace,
 * its volumes, a legacy link) or restarts with it (`depends_on` with `restart: true`) must be
 * recreated when that one is: compose would do it in a full `up`, and a kept container would
 * point at one that is gone.
 */
function spreadToSharers(
  services: Record<string, Record<string, unknown>>,
  reasons: Map<string, string>
): void {
  for (let grew = true; grew;) {
    grew = false
    for (const [name, body] of Object.entries(services)) {
      if (reasons.has(name)) continue
      const tie = tiesOf(body).find(t => reasons.has(t.service))
      if (!tie) continue
      reasons.set(name, `${tie.how} ${tie.service}, which is recreated`)
      grew = true
    }
  }
}

function tiesOf(body: Record<string, unknown>): { service: string; how: string }[] {
  const ties: { service: string; how: string }[] = []
  for (const key of ['network_mode', 'ipc', 'pid'] as const) {
    const v = body[key]
    if (typeof v === 'string' && v.startsWith('service:')) {
      ties.push({ service: v.slice(8), how: `it shares the ${key.replace('_mode', '')} of` })
    }
  }
  for (const v of list(body.volumes_from)) {
    if (!v.startsWith('container:'))
      ties.push({ service: v.split(':')[0] ?? v, how: 'it mounts the volumes of' })
  }
  for (const v of list(body.links)) ties.push({ service: v.split(':')[0] ?? v, how: 'it links to' })
  const deps = body.depends_on
  if (!Array.isArray(deps)) {
    for (const [service, d] of Object.entries(record(deps))) {
      if (record(d).restart === true)
        ties.push({ service, how: 'it restarts with (depends_on restart: true)' })
    }
  }
  return ties
}

const list = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []

/** Every string interpolated as compose would with DEPLOY_VERSION=`version`. */
function resolve(v: unknown, version: string): unknown {
  if (typeof v === 'string') {
    const r = interpolate(v)
    const text = r.text.split(VERSION_MARK).join(version)
    // A variable from the server's environment keeps its name: the same name is the same value.
    return r.unknown.length === 0 ? text : `${text} (from ${v})`
  }
  if (Array.isArray(v)) return v.map(x => resolve(x, version))
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, version)]))
  }
  return v
}

const relative = (p: string): boolean => p === '.' || p.startsWith('./') || p.startsWith('../')
const inDir = (dir: string, p: string): string => posix.join(dir, p)

/** A service's bind mounts and env files as absolute paths in `dir`. */
function withPaths(body: Record<string, unknown>, dir: string): Record<string, unknown> {
  const out = { ...body }
  if (Array.isArray(out.volumes)) {
    out.volumes = out.volumes.map((v: unknown) => {
      if (typeof v === 'string') {
        const [source = '', ...rest] = v.split(':')
        return relative(source) ? [inDir(dir, source), ...rest].join(':') : v
      }
      const m = record(v)
      return typeof m.source === 'string' && relative(m.source)
        ? { ...m, source: inDir(dir, m.source) }
        : v
    })
  }
  const files = typeof out.env_file === 'string' ? [out.env_file] : out.env_file
  if (Array.isArray(files)) {
    out.env_file = files.map((f: unknown) => {
      if (typeof f === 'string') return posix.isAbsolute(f) ? f : inDir(dir, f)
      const m = record(f)
      return typeof m.path === 'string' && !posix.isAbsolute(m.path)
        ? { ...m, path: inDir(dir, m.path) }
        : f
    })
  }
  return out
}

/** Top-level configs and secrets read from files, their paths absolute in `dir`. */
function withFilePaths(section: unknown, dir: string): unknown {
  if (typeof section !== 'object' || section === null || Array.isArray(section)) return section
  return Object.fromEntries(
    Object.entries(section).map(([k, d]) => {
      const m = record(d)
      return typeof m.file === 'string' && !posix.isAbsolute(m.file)
        ? [k, { ...m, file: inDir(dir, m.file) }]
        : [k, d]
    })
  )
}
