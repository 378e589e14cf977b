// skip-build: which version to ship, from the images the runner's engine already has.

import type Docker from 'dockerode'
import type { DeployOptions } from '../../config/options.js'
import { InputError } from '../../config/input-error.js'
import { imageRepo, versionTag } from '../../plan/images.js'
import { newestBuiltVersion, servicesWithout, type BuiltTags } from '../../plan/built-versions.js'
import { tagsOf } from '../../docker/images.js'
import type { Log } from '../io.js'

/** The version given, when every service's image has it; otherwise the newest they all have. */
export async function findBuiltVersion(
  o: DeployOptions,
  docker: Docker,
  log: Log
): Promise<string> {
  const built: BuiltTags = new Map()
  for (const s of o.services) built.set(s.name, await tagsOf(docker, imageRepo(o.project, s.name)))
  if (o.version) {
    const missing = servicesWithout(built, o.version)
    if (missing.length > 0) {
      throw new InputError(
        'skip-build',
        `the runner's Docker engine has no ${missing.map(s => versionTag(o.project, s, o.version)).join(', ')}: build them first (skip-build: false), or give a version it has`
      )
    }
    return o.version
  }
  const newest = newestBuiltVersion(built)
  if (!newest) {
    throw new InputError(
      'skip-build',
      `the runner's Docker engine has no version built for every service (${o.services.map(s => imageRepo(o.project, s.name)).join(', ')}): build one first (skip-build: false)`
    )
  }
  log.info(`skip-build: shipping ${newest}, the newest version built for every service`)
  return newest
}
