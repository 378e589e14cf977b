// The swarm strategy: a Docker Swarm through one manager. `docker stack deploy` pins the built
// images to their pushed digests and Swarm replaces the tasks (its own update_config, start-first
// included); verify watches the tasks converge; the images stay in the registry.

import { releaseDir } from '../../remote/commands.js'
import { judgeSwarm, serviceStatuses } from '../../health/swarm.js'
import type { StackStrategy } from './stack-strategy.js'
import { deployStack, nodeNames, pinsOf, stackSnapshot, swarmWatch, taskLogsTail } from './swarm.js'
import { errorMessage } from '../io.js'

export const swarmStack: StackStrategy = {
  keepsImages: false,
  // A stack has no one-off container to run a release command in.
  runsOneOffs: false,

  switchTo: (remote, o, _flavor, release, composeContent) =>
    deployStack(remote, o, release, composeContent),

  watch(remote, o, _release, switched) {
    const watch = swarmWatch(remote, o.project, switched ?? {})
    return Promise.resolve({
      expected: [],
      containers: () => watch.containers(),
      judge: () => watch.judge(),
      probe: probe => watch.counted(probe)
    })
  },

  suspects: (_remote, _o, health) => Promise.resolve(health.states),
  logsTail: taskLogsTail,

  /**
   * The stack as it is: its services (replicas, the version each runs, the node of every task)
   * judged against the digests the version in service pinned.
   */
  async look(remote, o, release, history, log) {
    const pinned = await pinsOf(remote, o, release)
      .then(pins => pins.images)
      .catch(e => {
        log.warn(`cannot read the images ${release.version} pinned: ${errorMessage(e)}`)
        return {}
      })
    const snapshot = await stackSnapshot(remote, o.project)
    const nodes = await nodeNames(remote)
    const versions = new Map<string, string>()
    for (const r of history)
      for (const ref of Object.values(r.images ?? {})) versions.set(ref, r.version)
    const services = serviceStatuses(snapshot, nodes, versions)
    for (const s of services) {
      log.info(
        `${s.name}: ${s.replicas} ${s.version ?? s.image}; ${s.tasks.join('; ') || 'no task'}`
      )
    }
    const verdict = judgeSwarm(snapshot, pinned)
    return { verdict, containers: verdict.states, services }
  },

  // A stack is deployed from its release folder (stored file and digest pins), not a directory.
  home(o, release) {
    const directory = releaseDir(o.deployPath, release.version)
    return { directory, line: `stack files: ${directory}/ (docker-compose.yml, swarm-images.yml)` }
  }
}
