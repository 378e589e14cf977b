// What the server holds of a project: each image repository's tags and the stored releases.

import type { DeployOptions } from '../../config/options.js'
import { serviceNames } from '../../config/options.js'
import { runChecked } from '../../remote/ssh.js'
import type { Remote } from '../../remote/remote.js'
import * as cmd from '../../remote/commands.js'
import type { DeployRecord } from '../../plan/history.js'
import { imageRepo } from '../../plan/images.js'
import { restorableVersions, type ServerHoldings } from '../../plan/rollback-target.js'
import * as stack from '../stack/stack.js'
import { stackStrategy } from '../stack/choose-strategy.js'

/** The services of this run and of every version the history lists. */
export function knownServices(o: DeployOptions, history: readonly DeployRecord[]): string[] {
  return [...new Set([...serviceNames(o), ...history.flatMap(r => r.services ?? [])])]
}

export async function readHoldings(
  remote: Remote,
  o: DeployOptions,
  history: readonly DeployRecord[]
): Promise<ServerHoldings> {
  const tagsByRepo: Record<string, string[]> = {}
  // A swarm's images are in the registry, pulled by digest on every node: the manager's tags
  // neither restore a version nor are pruned.
  for (const s of stackStrategy(o.orchestrator).keepsImages ? knownServices(o, history) : []) {
    const repo = imageRepo(o.project, s)
    tagsByRepo[repo] = await stack.listTags(remote, repo)
  }
  const releases = (await runChecked(remote, cmd.listReleases(o.deployPath)))
    .split('\n')
    .map(s => s.trim())
    .filter(Boolean)
  return { tagsByRepo, releases }
}

/** What the server holds, and the versions a rollback can go to from `current`, newest first. */
export async function readRestorable(
  remote: Remote,
  o: DeployOptions,
  history: DeployRecord[],
  current: string
): Promise<{ held: ServerHoldings; versions: string[] }> {
  const held = await readHoldings(remote, o, history)
  return {
    held,
    versions: restorableVersions(history, current, o.project, serviceNames(o), held)
  }
}
