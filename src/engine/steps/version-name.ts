// Before anything changes on a server: a deploy may reuse a version name the server knows (in
// service, or recorded as a success) only with the very images, and the compose file, that
// version has there
// (plan/version-clash.ts). Images are compared by what names them for good: the pushed digest
// (registry), or the image ID (tar, local), taken for the version in service from the
// containers that run it, never from a tag a build or transfer may have moved.

import type Docker from 'dockerode'
import { InputError } from '../../config/input-error.js'
import { releaseOf } from '../../plan/history.js'
import { backupTag, versionTag } from '../../plan/images.js'
import {
  clashRefusal,
  sameImages,
  versionClash,
  type VersionClash
} from '../../plan/version-clash.js'
import { localImageId } from '../../docker/images.js'
import * as cmd from '../../remote/commands.js'
import * as stack from '../stack/stack.js'
import type { Built, ServerRun } from './deploy-steps.js'

type Images = Record<string, string | undefined>

/**
 * How the server of `r` knows the version of `b`, when it does and holds it with the same
 * images; undefined when the version is new there (or only failed). Throws an error on the
 * input `version` when the server knows it under other images: nothing was changed.
 */
export async function checkVersionName(
  r: ServerRun,
  b: Built,
  docker: Docker,
  where: string
): Promise<VersionClash | undefined> {
  const { version, services } = b.release
  const clash = versionClash(version, r.previous, r.history)
  if (!clash) return undefined
  const o = r.s.o
  let built: Images
  let held: Images
  if (b.release.images) {
    // Registry: the digests this run pushed against those the version was recorded with.
    built = b.release.images
    held = releaseOf(r.history, version, services).images ?? {}
  } else {
    built = await byService(services, s => localImageId(docker, versionTag(o.project, s, version)))
    held = await heldImages(r, services, version, clash)
  }
  if (!sameImages(built, held)) throw new InputError('version', clashRefusal(version, clash, where))
  // The same images under another compose file are another version too: its way back would change.
  const stored = await r.s.remote.run(cmd.readFile(cmd.releaseComposeFile(o.deployPath, version)))
  if (stored.code !== 0 || stored.stdout.trim() !== b.composeContent.trim()) {
    throw new InputError('version', clashRefusal(version, clash, where, 'compose file'))
  }
  return clash
}

/** The image IDs of `version` on the server, by service. */
async function heldImages(
  r: ServerRun,
  services: string[],
  version: string,
  clash: VersionClash
): Promise<Images> {
  const { remote, o } = r.s
  if (clash.kind === 'in-service') {
    // What runs is the version in service, whatever its tags say now.
    const running = await stack.containerStates(remote, o.project)
    return byService(services, s =>
      Promise.resolve(running.find(c => c.service === s && c.image)?.image)
    )
  }
  // An earlier version: its backup tags (made from what ran), else (not on the runner's own
  // engine, where this run's build has just moved them) its version tags. One look for both.
  const refs = services.map(s => backupTag(o.project, s, version))
  if (o.method !== 'local') refs.push(...services.map(s => versionTag(o.project, s, version)))
  const ids = await stack.imageIds(remote, refs)
  return byService(services, (_, i) => Promise.resolve(ids[i] ?? ids[services.length + i]))
}

async function byService(
  services: string[],
  of: (service: string, i: number) => Promise<string | undefined>
): Promise<Images> {
  const ids = await Promise.all(services.map(of))
  return Object.fromEntries(services.map((s, i) => [s, ids[i]]))
}
