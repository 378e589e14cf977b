// engine/runner: a deploy's work on the runner, before any server is touched.
//
// Everything a deploy does on the runner, before any server is touched: validate the inputs
// against the files, build the images (or find those built), and publish them (registry).

import { readFileSync } from 'node:fs'
import type { DeployOptions } from '../../config/options.js'
import { serviceNames } from '../../config/options.js'
import type { Release } from '../../plan/history.js'
import {
  checkComposeFile,
  checkLocalFiles,
  composeServices,
  checkReleaseServices,
  checkStackPlan,
  checkSwarmFile
} from './local-files.js'
import { collectReleaseFiles, type ReleaseFileSet } from '../steps/release-files.js'
import { buildImages } from './build-images.js'
import { findBuiltVersion } from './find-built.js'
import { shippingFor } from '../shipping/shipping.js'
import type { Built } from '../steps/deploy-steps.js'
import type { CommandPorts, CommandResult } from '../commands/result.js'
import type { Log, Phases } from '../io.js'

/** Everything on the runner: validate, build (or find the images built), publish. */
export async function buildRelease(
  given: DeployOptions,
  ports: CommandPorts,
  log: Log,
  result: CommandResult,
  phases: Phases,
  notice: (m: string) => void
): Promise<Built> {
  const shipping = shippingFor(given.method)
  // Nothing on a server is touched until the images are built (and pushed).
  let files: ReleaseFileSet | undefined
  let options = given
  await phases.run('validate', async () => {
    checkLocalFiles(options)
    if (options.services.length === 0) {
      options = { ...options, services: composeServices(options, ports.environment, notice) }
      checkLocalFiles(options)
    }
    for (const warning of checkComposeFile(options)) notice(warning)
    if (options.orchestrator === 'swarm') for (const w of checkSwarmFile(options)) notice(w)
    checkReleaseServices(options)
    for (const warning of checkStackPlan(options)) notice(warning)
    if (options.files.length > 0) files = collectReleaseFiles(options)
  })
  result.files = files?.summary
  await shipping.prepare?.(options, ports.docker, phases)
  let o = options
  if (o.skipBuild) {
    const version = await phases.run('find images', () => findBuiltVersion(o, ports.docker, log))
    o = { ...o, version }
    result.version = version
  } else {
    result.build = await phases.run('build', () =>
      buildImages(o, ports.docker, ports.environment, log)
    )
  }
  const images = await shipping.publish?.(o, ports.docker, phases, log)
  const release: Release = {
    version: o.version,
    services: serviceNames(o),
    images,
    ...(files ? { files: files.summary } : {})
  }
  return {
    o,
    release,
    shipping,
    ...(images ? { images } : {}),
    ...(files ? { files } : {}),
    composeContent: readFileSync(o.composeFile, 'utf8')
  }
}
