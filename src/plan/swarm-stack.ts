// What a compose file becomes on a swarm (orchestrator: swarm). Pure: the keys Swarm ignores,
// and the override file that pins each built image to the digest recorded when it was pushed.

import { Document, isAlias, isScalar, parseDocument, type Scalar } from 'yaml'
import type { Release } from './history.js'
import { builtImageUsers, composeServiceBodies } from './compose-images.js'

/** Service keys that `docker stack deploy` ignores, and what to write instead. */
const IGNORED: Record<string, string> = {
  build: 'the action builds the images itself',
  container_name: 'Swarm names the tasks',
  depends_on: 'Swarm starts every service at once',
  network_mode: 'use networks: with an external network (name: host for the host network)',
  restart: 'use deploy.restart_policy',
  links: 'use networks',
  devices: 'not supported by Swarm services',
  cgroup_parent: 'not supported by Swarm services',
  external_links: 'use networks',
  security_opt: 'not supported by Swarm services',
  userns_mode: 'not supported by Swarm services'
}

/** One warning per service that uses keys a swarm ignores. */
export function swarmIgnoredKeys(text: string): string[] {
  const bodies = composeServiceBodies(text)
  if (typeof bodies === 'string') return []
  const warnings: string[] = []
  for (const [name, body] of bodies) {
    const keys = Object.keys(body ?? {}).filter(k => k in IGNORED)
    if (keys.length === 0) continue
    warnings.push(
      `services.${name}: docker stack deploy ignores ${keys.map(k => `${k} (${IGNORED[k]})`).join(', ')}`
    )
  }
  return warnings
}

/** The stack's name for a compose service. */
export const swarmServiceName = (project: string, service: string): string =>
  `${project}_${service}`

export interface ImagePins {
  /** An override compose file: each service that runs a built image gets `image: <digest ref>`. */
  text: string
  /** Swarm service name → the image reference it must run. */
  images: Record<string, string>
}

/** The node of the compose file's top-level `version`, an alias resolved; undefined when absent. */
function versionNode(text: string): unknown {
  const doc = parseDocument(text, { merge: true })
  if (doc.errors.length > 0) return undefined
  const node: unknown = doc.get('version', true)
  return isAlias(node) ? node.resolve(doc) : node
}

/**
 * The compose file's top-level `version` exactly as written (a quoted string stays that string,
 * `3.10` keeps its zero), or undefined when it has none: `docker stack deploy` refuses files whose
 * versions differ, a missing one counting as the CLI's own default, so the pins file says what
 * the user's file says, or nothing.
 */
function composeVersion(text: string): Scalar | undefined {
  const node = versionNode(text)
  if (!isScalar(node)) return undefined
  const copy = node.clone() as Scalar
  copy.anchor = undefined
  copy.comment = copy.commentBefore = undefined
  copy.spaceBefore = false
  return copy
}

/**
 * Why `docker stack deploy` would refuse the compose file's top-level `version`, or undefined.
 * Every Docker CLI takes only a string there (`version: 3.8` is a number: "version must be a
 * string", even for a single file), so a swarm deploy is refused before any build, with the
 * line to write.
 */
export function swarmVersionProblem(text: string): string | undefined {
  const node = versionNode(text)
  if (node === undefined || (isScalar(node) && typeof node.value === 'string')) return undefined
  const takes = 'docker stack deploy takes only a quoted version'
  if (isScalar(node) && typeof node.value === 'number') {
    const written = node.source ?? String(node.value)
    return `version: ${written} is a number; ${takes} ("version must be a string"). Write: version: '${written}'`
  }
  const what = !isScalar(node)
    ? 'version is not a single value'
    : node.value === null
      ? 'version has no value'
      : `version: ${String(node.source ?? node.value)} is a ${typeof node.value}`
  return `${what}; ${takes}. Write one (for example version: '3.8') or remove the line`
}

/**
 * Pins the images of `release` in its compose file `text`: every compose service that runs a
 * built image runs it by the digest recorded at the push (`<registry>/<repo>@sha256:…`), so a
 * tag moved since cannot change what a deploy or a rollback brings.
 */
export function pinImages(
  text: string,
  project: string,
  release: Release,
  registry: string
): ImagePins {
  const users = builtImageUsers(text, project, release.services, registry)
  const services: Record<string, { image: string }> = {}
  const images: Record<string, string> = {}
  for (const [name, built] of users) {
    const ref = release.images?.[built]
    if (!ref) {
      throw new Error(
        `no pushed digest is recorded for ${built} of ${release.version}: a swarm runs only images the registry holds by digest`
      )
    }
    services[name] = { image: ref }
    images[swarmServiceName(project, name)] = ref
  }
  const version = composeVersion(text)
  const pins = new Document(version ? { version, services } : { services })
  return { text: pins.toString(), images }
}
