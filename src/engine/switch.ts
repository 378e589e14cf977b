// Putting a version in service: its compose file, `compose up`, and the `latest` tags. Also used
// to bring back an earlier version, from its own stored compose file.

import { readFileSync } from 'node:fs'
import type { DeployOptions } from '../config/options.js'
import type { Remote } from '../remote/ssh.js'
import * as cmd from '../remote/commands.js'
import { backupTag, latestTag, versionTag } from '../plan/images.js'
import * as stack from './stack.js'
import type { Log } from './io.js'

/** Runs `version` with its compose file (uploaded first when given), then points `latest` at it. */
export async function switchTo(
  remote: Remote,
  o: DeployOptions,
  flavor: cmd.ComposeFlavor,
  version: string,
  composeContent: string | undefined
): Promise<void> {
  const file = cmd.releaseComposeFile(o.deployPath, version)
  if (composeContent !== undefined) await stack.uploadFile(remote, file, composeContent)
  await stack.composeUp(remote, {
    flavor,
    project: o.project,
    file,
    projectDirectory: o.deployPath,
    version
  })
  for (const s of o.services) {
    await stack.tagImage(
      remote,
      versionTag(o.project, s.name, version),
      latestTag(o.project, s.name)
    )
  }
}

/** Puts `target` back in service: its images (from backups if pruned) and its stored compose file. */
export async function restore(
  remote: Remote,
  o: DeployOptions,
  flavor: cmd.ComposeFlavor,
  target: string,
  log: Log
): Promise<void> {
  for (const s of o.services) {
    const tag = versionTag(o.project, s.name, target)
    if (await stack.imageExists(remote, tag)) continue
    const backup = backupTag(o.project, s.name, target)
    if (!(await stack.imageExists(remote, backup))) {
      throw new Error(`neither ${tag} nor ${backup} exists on the server: cannot restore ${s.name}`)
    }
    await stack.tagImage(remote, backup, tag)
    log.info(`restored ${tag} from ${backup}`)
  }
  const file = cmd.releaseComposeFile(o.deployPath, target)
  const haveRelease = (await remote.run(['test', '-f', file])).code === 0
  if (!haveRelease) {
    log.warn(`no stored compose file for ${target}: using this run's ${o.composeFile}`)
  }
  await switchTo(
    remote,
    o,
    flavor,
    target,
    haveRelease ? undefined : readFileSync(o.composeFile, 'utf8')
  )
}
