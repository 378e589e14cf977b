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

/** The line a compose service needs to run `repo` at the deployed version. */
export const imageLine = (repo: string): string => `image: ${repo}:\${DEPLOY_VERSION:-latest}`

/** `docker.io/library/x` and `library/x` are `x`, as the engine names local images. */
function normalRepo(repo: string): string {
  return repo.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '')
}

/** How an `image:` value picks its image, once interpolated. */
export function classifyImage(image: string): ImageUse {
  let text: string
  try {
    const resolved = interpolate(image)
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

/** The compose file's `services:` as name → `image:` value (undefined when absent). */
function composeServices(text: string): Map<string, unknown> | string {
  const doc = parseDocument(text, { merge: true, prettyErrors: true })
  if (doc.errors.length > 0) {
    return `not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? 'parse error'}`
  }
  const root: unknown = doc.toJS({ maxAliasCount: 1000 })
  const services =
    typeof root === 'object' && root !== null
      ? (root as Record<string, unknown>).services
      : undefined
  if (typeof services !== 'object' || services === null || Array.isArray(services)) {
    return 'no "services:" mapping: a compose file lists its services under services:'
  }
  const map = new Map<string, unknown>()
  for (const [name, body] of Object.entries(services as Record<string, unknown>)) {
    map.set(
      name,
      typeof body === 'object' && body !== null ? (body as { image?: unknown }).image : undefined
    )
  }
  return map
}

export function checkComposeImages(
  text: string,
  project: string,
  builtServices: readonly string[]
): ComposeImagesVerdict {
  const services = composeServices(text)
  if (typeof services === 'string') return { problems: [services], warnings: [] }

  const problems: string[] = []
  const uses = new Map<string, ImageUse>()
  for (const [name, image] of services) {
    if (typeof image !== 'string') continue
    const use = classifyImage(image)
    if (use.kind === 'invalid') problems.push(`services.${name}.image: ${use.why}`)
    else uses.set(name, use)
  }
  const unknown = [...uses].filter(([, u]) => u.kind === 'unknown')

  const unmatched: string[] = []
  for (const built of builtServices) {
    const repo = imageRepo(project, built)
    const users = [...uses].filter(([, u]) => 'repo' in u && u.repo === repo)
    for (const [name, use] of users) {
      if (use.kind !== 'fixed') continue
      problems.push(
        `services.${name}.image "${String(services.get(name))}" ${use.reason}: compose would run an old ${repo} image, not the one this deploy builds. Write: ${imageLine(repo)}`
      )
    }
    if (users.length > 0) continue
    if (unknown.length > 0) {
      unmatched.push(repo)
      continue
    }
    const where = services.has(built)
      ? services.get(built) === undefined
        ? `services.${built} has no image:`
        : `services.${built} runs "${String(services.get(built))}"`
      : `no service runs it`
    problems.push(
      `the image ${repo} (service "${built}" of the services input) is not the image: of any compose service (${where}). Write in the service that runs it: ${imageLine(repo)}`
    )
  }

  const warnings: string[] = []
  for (const [name, use] of unknown) {
    if (use.kind !== 'unknown') continue
    const image = String(services.get(name))
    const named = builtServices.map(s => imageRepo(project, s)).filter(repo => image.includes(repo))
    // Only images that may be ours: ones naming a built image, or any while one is unaccounted for.
    if (named.length === 0 && unmatched.length === 0) continue
    const should = (named.length > 0 ? named : unmatched).map(imageLine).join(' or ')
    warnings.push(
      `services.${name}.image "${image}" uses ${use.variables.map(v => `$${v}`).join(', ')}, which the action cannot resolve before deploying; after the switch it checks that the containers run this version's images. Safer: ${should}`
    )
  }
  return { problems, warnings }
}
