// Putting a version in service: its compose file, `compose up`, and the `latest` tags (on a
// swarm: `docker stack deploy`, swarm.ts). Also used to bring back an earlier version: its images
// (from backups or the registry if need be), its own stored compose file and, when it carried
// files, its own folder as compose's project directory.

import { existsSync, readFileSync } from 'node:fs'
import type { DeployOptions } from '../config/options.js'
import type { Remote } from '../remote/remote.js'
import * as cmd from '../remote/commands.js'
import type { Release } from '../plan/history.js'
import { backupTag, latestTag, versionTag } from '../plan/images.js'
import { projectDirectoryOf } from '../plan/release-paths.js'
import { pullAndTag, type Pull } from './registry-pull.js'
import * as stack from './stack.js'
import { deployStack, type Switched } from './swarm.js'
import { switchServices, type ServiceSwitch } from './start-first.js'
import { stackPlan } from '../plan/stack-plan.js'
import { runChecked } from '../remote/ssh.js'
import type { Log } from './io.js'

/**
 * Runs `release` with its compose file (uploaded first when given), then points `latest` at it.
 * On a swarm, returns what the verification needs to know of the stack deploy.
 */
export async function switchTo(
  remote: Remote,
  o: DeployOptions,
  flavor: cmd.StackFlavor,
  release: Release,
  composeContent: string | undefined,
  log: Log
): Promise<Switched | undefined> {
  if (flavor === 'swarm') {
    return deployStack(remote, o, release, composeContent)
  }
  const target = await prepareCompose(remote, o, flavor, release, composeContent)
  const text = composeContent ?? (await runChecked(remote, cmd.readFile(target.file)))
  const plan = stackPlan(text)
  let services: ServiceSwitch[] | undefined
  if (plan.services.some(s => s.startFirst || (o.ingress && s.route))) {
    services = await switchServices(remote, o, target, release, text, log)
  } else {
    await stack.composeUp(remote, target)
  }
  for (const s of release.services) {
    await stack.tagImage(remote, versionTag(o.project, s, release.version), latestTag(o.project, s))
  }
  return services ? { since: '', images: {}, services } : undefined
}

/**
 * How compose runs `release` on the server: its stored compose file (uploaded first when
 * `composeContent` is given) in its project directory, which gets the server's `.env`.
 */
export async function prepareCompose(
  remote: Remote,
  o: DeployOptions,
  flavor: cmd.ComposeFlavor,
  release: Release,
  composeContent: string | undefined
): Promise<cmd.ComposeTarget> {
  const file = cmd.releaseComposeFile(o.deployPath, release.version)
  if (composeContent !== undefined) await stack.uploadFile(remote, file, composeContent)
  const projectDirectory = releaseProjectDirectory(o.deployPath, release)
  // The server's secrets (.env in deploy-path) reach every release that has its own folder.
  if (release.files) await stack.linkServerEnv(remote, o.deployPath, projectDirectory)
  return { flavor, project: o.project, file, projectDirectory, version: release.version }
}

/** Where compose runs `release`: its own folder when it carried files, else deploy-path. */
export function releaseProjectDirectory(deployPath: string, release: Release): string {
  return projectDirectoryOf(deployPath, cmd.releaseDir(deployPath, release.version), release.files)
}

/**
 * Makes sure the server has every image of `release` under its version tag: kept, re-tagged
 * from its backup, or pulled again by the digest its record keeps.
 */
export async function ensureImages(
  remote: Remote,
  o: DeployOptions,
  release: Release,
  log: Log
): Promise<void> {
  const pulls: Pull[] = []
  for (const s of release.services) {
    const tag = versionTag(o.project, s, release.version)
    if (await stack.imageExists(remote, tag)) continue
    const backup = backupTag(o.project, s, release.version)
    if (await stack.imageExists(remote, backup)) {
      await stack.tagImage(remote, backup, tag)
      log.info(`restored ${tag} from ${backup}`)
      continue
    }
    const digest = release.images?.[s]
    if (!digest) {
      throw new Error(`neither ${tag} nor ${backup} exists on the server: cannot restore ${s}`)
    }
    pulls.push({ from: digest, to: tag })
  }
  if (pulls.length > 0) {
    log.info(`pulling ${pulls.length} image(s) of ${release.version} again by digest`)
    await pullAndTag(remote, o, pulls, log)
  }
}

/** Puts `release` back in service: its images, then its stored compose file. */
export async function restore(
  remote: Remote,
  o: DeployOptions,
  flavor: cmd.StackFlavor,
  release: Release,
  log: Log
): Promise<Switched | undefined> {
  // A swarm's nodes pull the images by the digests the stack deploy pins.
  if (flavor !== 'swarm') await ensureImages(remote, o, release, log)
  const file = cmd.releaseComposeFile(o.deployPath, release.version)
  const haveRelease = (await remote.run(['test', '-f', file])).code === 0
  if (!haveRelease) {
    if (release.files) {
      throw new Error(
        `the folder of ${release.version} (${cmd.releaseDir(o.deployPath, release.version)}) is gone: its files cannot be restored`
      )
    }
    if (!existsSync(o.composeFile)) {
      throw new Error(`no stored compose file for ${release.version}, and no ${o.composeFile} here`)
    }
    log.warn(`no stored compose file for ${release.version}: using this run's ${o.composeFile}`)
  }
  return switchTo(
    remote,
    o,
    flavor,
    release,
    haveRelease ? undefined : readFileSync(o.composeFile, 'utf8'),
    log
  )
}
