// The build phase: every service's image, built on the runner's engine.

import type Docker from 'dockerode'
import type { DeployOptions } from '../config/options.js'
import { buildImage } from '../docker/build.js'
import { versionTag } from '../plan/images.js'
import type { Log } from './io.js'

export async function buildImages(o: DeployOptions, docker: Docker, log: Log): Promise<void> {
  for (const s of o.services) {
    const tag = versionTag(o.project, s.name, o.version)
    log.info(`building ${tag} from ${s.context} (${s.dockerfile})`)
    await buildImage(
      docker,
      {
        context: s.context,
        dockerfile: s.dockerfile,
        tag,
        // DEPLOY_VERSION lets an image know its own version (e.g. to serve it).
        buildArgs: { ...o.buildArgs, DEPLOY_VERSION: o.version }
      },
      line => log.info(line)
    )
  }
}
