// The backup phase: the running version's images get `backup-<version>` tags, which pruning keeps.

import type { DeployOptions } from '../config/options.js'
import type { Remote } from '../remote/ssh.js'
import { backupTag, latestTag, versionTag } from '../plan/images.js'
import * as stack from './stack.js'
import type { Log } from './io.js'

export async function backupRunning(
  remote: Remote,
  o: DeployOptions,
  running: string,
  log: Log
): Promise<void> {
  for (const s of o.services) {
    const source = versionTag(o.project, s.name, running)
    const fallback = latestTag(o.project, s.name)
    const from = (await stack.imageExists(remote, source))
      ? source
      : (await stack.imageExists(remote, fallback))
        ? fallback
        : undefined
    if (!from) {
      log.warn(`no image of ${s.name} for the running version ${running}: nothing to back up`)
      continue
    }
    await stack.tagImage(remote, from, backupTag(o.project, s.name, running))
    log.info(`${from} → ${backupTag(o.project, s.name, running)}`)
  }
}
