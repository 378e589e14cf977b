// The prune phase: removes the images, releases and history records the contract does not keep.

import type { DeployOptions } from '../../config/options.js'
import { serviceNames } from '../../config/options.js'
import { versionTag } from '../../plan/images.js'
import { lastWords, runChecked } from '../../remote/ssh.js'
import type { Remote } from '../../remote/remote.js'
import * as cmd from '../../remote/commands.js'
import type { DeployRecord } from '../../plan/history.js'
import { planPrune } from '../../plan/prune.js'
import { rewriteHistory } from '../server/server-state.js'
import { readHoldings } from '../server/holdings.js'
import type { Log } from '../io.js'
import { stackStrategy } from '../stack/choose-strategy.js'

/**
 * Returns the history that stays (oldest first). What it cannot remove (an image in use, a
 * release folder that holds files a container wrote as root and the engine could not remove
 * either) is a `notice`, never an error.
 */
export async function prune(
  remote: Remote,
  o: DeployOptions,
  history: DeployRecord[],
  protectedVersions: string[],
  log: Log,
  notice: (m: string) => void = m => log.warn(m)
): Promise<DeployRecord[]> {
  const { tagsByRepo, releases } = await readHoldings(remote, o, history)
  const plan = planPrune({
    tagsByRepo,
    releases,
    history,
    keepVersions: o.keepVersions,
    keepHistory: o.keepHistory,
    protectedVersions
  })
  if (plan.removeTags.length > 0) {
    const r = await remote.run(cmd.removeImages(plan.removeTags))
    if (r.code !== 0) log.warn(`pruning images: ${r.stderr.trim()}`)
    else log.info(`removed ${plan.removeTags.join(', ')}`)
  }
  if (plan.removeReleases.length > 0) {
    await removeReleases(remote, o, plan.removeReleases, log, notice)
  }
  if (plan.history.length < history.length) {
    await rewriteHistory(remote, o.deployPath, plan.history)
  }
  log.info(
    stackStrategy(o.orchestrator).keepsImages
      ? `kept versions: ${plan.keptVersions.join(', ')}`
      : `history kept: ${plan.history.length} record(s); the images stay in the registry (a swarm prunes none)`
  )
  return plan.history
}

/**
 * Removes the release folders of `versions`. Those the deploy user cannot remove (a bind mount
 * under a release folder that a container wrote as root) are removed through the engine the
 * deploy user already commands, with one of the images in service; what still stays is reported.
 */
async function removeReleases(
  remote: Remote,
  o: DeployOptions,
  versions: string[],
  log: Log,
  notice: (m: string) => void
): Promise<void> {
  const plain = await remote.run(cmd.removeReleases(o.deployPath, versions))
  if (plain.code === 0) return
  const stuck = async () => {
    const listed = (await runChecked(remote, cmd.listReleases(o.deployPath))).split('\n')
    return versions.filter(v => listed.includes(v))
  }
  let left = await stuck()
  const images = stackStrategy(o.orchestrator).keepsImages
    ? serviceNames(o).map(s => versionTag(o.project, s, o.version))
    : []
  for (const image of images) {
    if (left.length === 0) break
    const r = await remote.run(cmd.removeReleasesThroughEngine(o.deployPath, left, image))
    if (r.code !== 0) continue
    await remote.run(cmd.removeReleases(o.deployPath, left))
    const removed = left
    left = await stuck()
    if (left.length === 0) {
      log.info(
        `removed the release folders of ${removed.join(', ')} through the engine (they held files written as root)`
      )
    }
  }
  if (left.length > 0) {
    notice(
      `could not remove the release folders of ${left.join(', ')}: ${lastWords(plain, 1)}. They hold files the deploy user cannot delete${images.length > 0 ? ', and no image in service could remove them through the engine' : ''}; remove them as root: rm -rf ${left.map(v => cmd.releaseDir(o.deployPath, v)).join(' ')}`
    )
  }
}
