// The backup phase: the running version's images get `backup-<version>` tags, which pruning keeps.
// A service's image is taken by the ID its containers run, never by a tag a later step could have
// moved; its version tag (or latest) only when none of its containers runs.

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
  for (const s of running.services) {
    const source = versionTag(o.project, s, running.version)
    const fallback = latestTag(o.project, s)
    const from =
      containers.find(c => c.service === s && c.status === 'running' && c.image)?.image ??
      ((await stack.imageExists(remote, source))
        ? source
        : (await stack.imageExists(remote, fallback))
          ? fallback
          : undefined)
    if (!from) {
      log.warn(`no image of ${s} for the running version ${running.version}: nothing to back up`)
      continue
    }
    await stack.tagImage(remote, from, backupTag(o.project, s, running.version))
    const what = from.startsWith('sha256:') ? `${source} as it runs (${from.slice(0, 19)})` : from
    log.info(`${what} → ${backupTag(o.project, s, running.version)}`)
  }
}
