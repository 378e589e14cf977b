// Checks, before anything is built, that the compose file runs the images this deploy builds at
// the version it deploys: each `<project>-<service>` image must be the `image:` of at least one
// compose service, tagged from DEPLOY_VERSION. Pure: text in, verdict out.

import { parseDocument } from 'yaml'
import { imageRepo } from './images.js'
import { interpolate, InterpolationError, VERSION_MARK } from './compose-vars.js'

export interface ComposeImagesVerdict {
  /** Reasons to refuse the deploy, each naming the service and the line to write. */
  problems: string[]
  /** Images the action cannot judge before the deploy (the running-image check covers them). */
  warnings: string[]
}

type ImageUse =
  | { kind: 'versioned'; repo: string }
  | { kind: 'fixed'; repo: string; reason: string }
  | { kind: 'unknown'; variables: string[] }
  | { kind: 'invalid'; why: string }

/**
 * The line a compose service needs to run `repo` at the deployed version; for a swarm, from the
 * registry (DEPLOY_REGISTRY), where every node pulls it.
 */
export const imageLine = (repo: string, swarm = false): string =>
  `image: ${swarm ? '${DEPLOY_REGISTRY}/' : ''}${repo}:\${DEPLOY_VERSION:-latest}`

/** `docker.io/library/x` and `library/x` are `x`, as the engine names local images. */
function normalRepo(repo: string): string {
  return repo.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '')
}

/**
 * How an `image:` value picks its image, once interpolated (`registry`: the value of
 * DEPLOY_REGISTRY, which the action sets for a swarm).
 */
export function classifyImage(image: string, registry?: string): ImageUse {
  let text: string
  try {
    const resolved = interpolate(image, registry ? { DEPLOY_REGISTRY: registry } : {})
    if (resolved.unknown.length > 0) return { kind: 'unknown', variables: resolved.unknown }
    text = resolved.text
  } catch (e) {
    if (e instanceof InterpolationError) return { kind: 'invalid', why: e.message }
    throw e
  }
  const at = text.indexOf('@')
  if (at >= 0) {
    return { kind: 'fixed', repo: normalRepo(text.slice(0, at)), reason: 'is pinned to a digest' }
  }
  const colon = text.lastIndexOf(':')
  const hasTag = colon > text.lastIndexOf('/')
  const repo = normalRepo(hasTag ? text.slice(0, colon) : text)
  const tag = hasTag ? text.slice(colon + 1) : ''
  if (tag === VERSION_MARK) return { kind: 'versioned', repo }
  if (tag.includes(VERSION_MARK)) {
    return { kind: 'fixed', repo, reason: 'has a tag that is not DEPLOY_VERSION alone' }
  }
  return {
    kind: 'fixed',
    repo,
    reason: tag === '' ? 'has no tag (so it runs :latest)' : `is pinned to the fixed tag :${tag}`
  }
}

/** A YAML mapping as a record; anything else as an empty one. */
export function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {}
}

/** The compose file's top level as plain data; or why it does not parse. */
export function composeRoot(text: string): Record<string, unknown> | string {
  const doc = parseDocument(text, { merge: true, prettyErrors: true })
  if (doc.errors.length > 0) {
    return `not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? 'parse error'}`
  }
  const root: unknown = doc.toJS({ maxAliasCount: 1000 })
  return typeof root === 'object' && root !== null ? (root as Record<string, unknown>) : {}
}

/** The compose file's `services:` as name → body (a mapping, or undefined); or why it has none. */
export function composeServiceBodies(
  text: string
): Map<string, Record<string, unknown> | undefined> | string {
  const root = composeRoot(text)
  if (typeof root === 'string') return root
  const services = root.services
  if (typeof services !== 'object' || services === null || Array.isArray(services)) {
    return 'no "services:" mapping: a compose file lists its services under services:'
  }
  const map = new Map<string, Record<string, unknown> | undefined>()
  for (const [name, body] of Object.entries(services as Record<string, unknown>)) {
    map.set(
      name,
      typeof body === 'object' && body !== null && !Array.isArray(body)
        ? (body as Record<string, unknown>)
        : undefined
    )
  }
  return map
}

/** The compose file's `services:` as name → `image:` value (undefined when absent). */
function composeServices(text: string): Map<string, unknown> | string {
  const bodies = composeServiceBodies(text)
  if (typeof bodies === 'string') return bodies
  return new Map([...bodies].map(([name, body]) => [name, body?.image]))
}

/** Which compose services run which built image: compose service → built service. */
export function builtImageUsers(
  text: string,
  project: string,
  builtServices: readonly string[],
  registry?: string
): Map<string, string> {
  const services = composeServices(text)
  const users = new Map<string, string>()
  if (typeof services === 'string') return users
  for (const [name, image] of services) {
    if (typeof image !== 'string') continue
    const use = classifyImage(image, registry)
    if (use.kind !== 'versioned') continue
    const built = builtServices.find(b => use.repo === expectedRepo(project, b, registry))
    if (built !== undefined) users.set(name, built)
  }
  return users
}

/** The repository a built service's image is run from: `<project>-<service>`, in the registry for a swarm. */
function expectedRepo(project: string, built: string, registry?: string): string {
  return normalRepo(
    registry ? `${registry}/${imageRepo(project, built)}` : imageRepo(project, built)
  )
}

/**
 * `registry` (a swarm): every node pulls the built images from it, so they must be named
 * `<registry>/<project>-<service>` (DEPLOY_REGISTRY), and an image the action cannot resolve is
 * refused rather than left to the check after the switch.
 */
export function checkComposeImages(
  text: string,
  project: string,
  builtServices: readonly string[],
  registry?: string
): ComposeImagesVerdict {
  const services = composeServices(text)
  if (typeof services === 'string') return { problems: [services], warnings: [] }
  const swarm = registry !== undefined
  const line = (repo: string) => imageLine(repo, swarm)

  const problems: string[] = []
  const uses = new Map<string, ImageUse>()
  for (const [name, image] of services) {
    if (typeof image !== 'string') continue
    const use = classifyImage(image, registry)
    if (use.kind === 'invalid') problems.push(`services.${name}.image: ${use.why}`)
    else uses.set(name, use)
  }
  const unknown = [...uses].filter(([, u]) => u.kind === 'unknown')

  const unmatched: string[] = []
  for (const built of builtServices) {
    const repo = imageRepo(project, built)
    const wanted = expectedRepo(project, built, registry)
    const users = [...uses].filter(([, u]) => 'repo' in u && u.repo === wanted)
    for (const [name, use] of users) {
      if (use.kind !== 'fixed') continue
      problems.push(
        `services.${name}.image "${String(services.get(name))}" ${use.reason}: ${swarm ? 'the swarm' : 'compose'} would run an old ${repo} image, not the one this deploy builds. Write: ${line(repo)}`
      )
    }
    if (users.length > 0) continue
    if (unknown.length > 0 && !swarm) {
      unmatched.push(repo)
      continue
    }
    const where = services.has(built)
      ? services.get(built) === undefined
        ? `services.${built} has no image:`
        : `services.${built} runs "${String(services.get(built))}"`
      : `no service runs it`
    problems.push(
      `the image ${swarm ? wanted : repo} (service "${built}" of the services input) is not the image: of any compose service (${where})${swarm ? ': on a swarm every node pulls it from the registry' : ''}. Write in the service that runs it: ${line(repo)}`
    )
  }

  const warnings: string[] = []
  for (const [name, use] of unknown) {
    if (use.kind !== 'unknown') continue
    const image = String(services.get(name))
    const named = builtServices.map(s => imageRepo(project, s)).filter(repo => image.includes(repo))
    // Only images that may be ours: ones naming a built image, or any while one is unaccounted for.
    if (named.length === 0 && unmatched.length === 0) continue
    const should = (named.length > 0 ? named : unmatched).map(r => line(r)).join(' or ')
    warnings.push(
      `services.${name}.image "${image}" uses ${use.variables.map(v => `$${v}`).join(', ')}, which the action cannot resolve before deploying; after the switch it checks that the containers run this version's images. Safer: ${should}`
    )
  }
  return { problems, warnings }
}
