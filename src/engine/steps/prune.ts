// The prune phase: removes the images, releases and history records the contract does not keep.

import type { DeployOptions } from '../../config/options.js'
import { runChecked } from '../../remote/ssh.js'
import type { Remote } from '../../remote/remote.js'
import * as cmd from '../../remote/commands.js'
import type { DeployRecord } from '../../plan/history.js'
import { planPrune } from '../../plan/prune.js'
import { rewriteHistory } from '../server/server-state.js'
import { readHoldings } from '../server/holdings.js'
import type { Log } from '../io.js'
import { stackStrategy } from '../stack/choose-strategy.js'

/** Returns the history that stays (oldest first). */
export async function prune(
  remote: Remote,
  o: DeployOptions,
  history: DeployRecord[],
  protectedVersions: string[],
  log: Log
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
    await runChecked(remote, cmd.removeReleases(o.deployPath, plan.removeReleases))
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
