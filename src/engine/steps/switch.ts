// Putting a version in service, the way the stack's strategy does it (stack-strategy.ts). Also
// used to bring back an earlier version: its images (from backups or the registry if need be), its
// own stored compose file and, when it carried files, its own folder as compose's project
// directory.

import { existsSync, readFileSync } from 'node:fs'
import type { DeployOptions } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import * as cmd from '../../remote/commands.js'
import type { Release } from '../../plan/history.js'
import { backupTag, versionTag } from '../../plan/images.js'
import { pullAndTag, type Pull } from '../shipping/registry-pull.js'
import * as stack from '../stack/stack.js'
import type { Switched } from '../stack/swarm.js'
import { stackStrategy } from '../stack/choose-strategy.js'
import type { Log } from '../io.js'

/**
 * Puts `release` in service with its compose file (uploaded first when given), the way the
 * orchestrator's strategy does it. On a swarm, returns what the verification needs to know of the
 * stack deploy; with compose, how each service was switched, when one was start-first or routed.
 */
export async function switchTo(
  remote: Remote,
  o: DeployOptions,
  flavor: cmd.StackFlavor,
  release: Release,
  composeContent: string | undefined,
  log: Log
): Promise<Switched | undefined> {
  return stackStrategy(o.orchestrator).switchTo(remote, o, flavor, release, composeContent, log)
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
  if (stackStrategy(o.orchestrator).keepsImages) await ensureImages(remote, o, release, log)
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
