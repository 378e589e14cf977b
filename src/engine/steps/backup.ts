// The backup phase: the running version's images get `backup-<version>` tags, which pruning keeps.
// Each image is resolved to its ID once, and the backup tag made from that ID; a service whose
// containers run another image than the version's tag names is reported.

import type { DeployOptions } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import type { Release } from '../../plan/history.js'
import { backupTag, latestTag, versionTag } from '../../plan/images.js'
import * as stack from '../stack/stack.js'
import type { Log } from '../io.js'

export async function backupRunning(
  remote: Remote,
  o: DeployOptions,
  running: Release,
  log: Log
): Promise<void> {
  const containers = await stack.containerStates(remote, o.project)
  // Each image by its ID, resolved once (one look for every service's version and latest tags):
  // the backup tag names what the tag named now.
  const refs = running.services.flatMap(s => [
    versionTag(o.project, s, running.version),
    latestTag(o.project, s)
  ])
  const ids = await stack.imageIds(remote, refs)
  for (const [i, s] of running.services.entries()) {
    const source = versionTag(o.project, s, running.version)
    const fallback = latestTag(o.project, s)
    const tagged = ids[2 * i]
    const id = tagged ?? ids[2 * i + 1]
    if (!id) {
      log.warn(`no image of ${s} for the running version ${running.version}: nothing to back up`)
      continue
    }
    const runs = containers.find(c => c.service === s && c.status === 'running' && c.image)?.image
    if (runs && runs !== id) {
      log.warn(
        `${s}'s containers run ${runs.slice(0, 19)}, not ${tagged ? source : fallback} (${id.slice(0, 19)}): the server's containers have drifted from the version in service`
      )
    }
    await stack.tagImage(remote, id, backupTag(o.project, s, running.version))
    log.info(
      `${tagged ? source : fallback} (${id.slice(0, 19)}) → ${backupTag(o.project, s, running.version)}`
    )
  }
}
