// The build phase: every service's image, built on the runner's engine.

import { readFileSync } from 'node:fs'
import path from 'node:path'
import type Docker from 'dockerode'
import type { DeployOptions } from '../config/options.js'
import { buildImage } from '../docker/build.js'
import { declaresArg } from '../docker/dockerfile.js'
import { versionTag } from '../plan/images.js'
import type { Log } from './io.js'

export async function buildImages(o: DeployOptions, docker: Docker, log: Log): Promise<void> {
  for (const s of o.services) {
    const tag = versionTag(o.project, s.name, o.version)
    log.info(`building ${tag} from ${s.context} (${s.dockerfile})`)
    // DEPLOY_VERSION lets an image know its own version (e.g. to serve it); passed only where
    // the Dockerfile declares it, so the engine does not warn that it was not consumed.
    const dockerfile = readFileSync(path.resolve(s.context, s.dockerfile), 'utf8')
    const version: Record<string, string> = declaresArg(dockerfile, 'DEPLOY_VERSION')
      ? { DEPLOY_VERSION: o.version }
      : {}
    await buildImage(
      docker,
      {
        context: s.context,
        dockerfile: s.dockerfile,
        tag,
        buildArgs: { ...o.buildArgs, ...version }
      },
      line => log.info(line)
    )
  }
}
