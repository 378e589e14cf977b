// A stack on a Docker Swarm (orchestrator: swarm), through one manager: put a version in
// service with `docker stack deploy` (its built images pinned to their pushed digests), watch
// it converge, describe it. The images come from the registry to every node; none are kept,
// tagged or removed on the manager.

import type { DeployOptions, HealthCheck } from '../../config/options.js'
import { lastWords, RemoteCommandError, runChecked } from '../../remote/ssh.js'
import type { Remote } from '../../remote/remote.js'
import * as cmd from '../../remote/commands.js'
import type { Release } from '../../plan/history.js'
import { imageRepo } from '../../plan/images.js'
import { pinImages, type ImagePins } from '../../plan/swarm-stack.js'
import {
  countedProbe,
  judgeSwarm,
  parseSnapshot,
  vanishedMeanwhile,
  type SwarmSnapshot,
  type SwarmVerdict
} from '../../health/swarm.js'
import type { ContainerState } from '../../health/containers.js'
import type { ProbeResult } from '../../health/probes.js'
import { uploadFile } from './stack.js'
import type { ServiceSwitch } from './start-first.js'

/** What a switch leaves for the verification that follows it. */
export interface Switched {
  /** The manager's time when the stack deploy started. */
  since: string
  /** Swarm service name → the image reference it must run. */
  images: Record<string, string>
  /** Compose: how each service was switched (start-first or stop-first). */
  services?: ServiceSwitch[]
}

/**
 * The registry the version's images are in: the registry input, or where its recorded digests
 * point (a rollback job may not name it).
 */
export function registryOf(o: DeployOptions, release: Release): string {
  if (o.registry?.url) return o.registry.url
  for (const s of release.services) {
    const ref = release.images?.[s]
    const at = ref?.lastIndexOf(`/${imageRepo(o.project, s)}@`) ?? -1
    if (ref && at > 0) return ref.slice(0, at)
  }
  throw new Error(
    `no registry is known for ${release.version}: give the registry input (a swarm pulls every image from it)`
  )
}

/** Deploys `release` as the stack `o.project` from its stored compose file (read back when not given). */
export async function deployStack(
  remote: Remote,
  o: DeployOptions,
  release: Release,
  composeContent: string | undefined
): Promise<Switched> {
  const file = cmd.releaseComposeFile(o.deployPath, release.version)
  if (composeContent !== undefined) await uploadFile(remote, file, composeContent)
  const registry = registryOf(o, release)
  const pins = await pinsOf(remote, o, release, composeContent)
  const pinsFile = cmd.swarmPinsFile(o.deployPath, release.version)
  await uploadFile(remote, pinsFile, pins.text)
  const login = o.registry?.username && o.registry.host ? o.registry : undefined
  const argv = cmd.stackDeploy({
    project: o.project,
    files: [file, pinsFile],
    version: release.version,
    registry,
    loginHost: login?.host ?? '',
    username: login?.username ?? ''
  })
  const r = await remote.run(argv, login?.password ?? '')
  if (r.code !== 0) {
    throw new Error(`docker stack deploy failed (exit ${r.code}): ${lastWords(r, 8)}`)
  }
  const since = r.stdout.split('\n')[0]?.trim() ?? ''
  return { since, images: pins.images }
}

/** The pins of `release`: from `text`, or from its compose file stored on the server. */
export async function pinsOf(
  remote: Remote,
  o: DeployOptions,
  release: Release,
  text?: string
): Promise<ImagePins> {
  const compose =
    text ??
    (await runChecked(remote, cmd.readFile(cmd.releaseComposeFile(o.deployPath, release.version))))
  return pinImages(compose, o.project, release, registryOf(o, release))
}

/**
 * The stack's services and tasks. Swarm deletes old tasks while it updates (its task history
 * limit): one listed and gone before it was inspected fails the look, which is then taken again.
 */
export async function stackSnapshot(remote: Remote, project: string): Promise<SwarmSnapshot> {
  const argv = cmd.stackSnapshot(project)
  for (let attempt = 1; ; attempt++) {
    const r = await remote.run(argv)
    if (r.code === 0) return parseSnapshot(r.stdout)
    if (attempt >= SNAPSHOT_ATTEMPTS || !vanishedMeanwhile(r.stderr)) {
      throw new RemoteCommandError(argv, r)
    }
  }
}
const SNAPSHOT_ATTEMPTS = 5

/**
 * The poller's view of a stack: `containers` takes a snapshot and returns its tasks, `judge`
 * judges that same snapshot against the images the switch pinned, and `counted` wraps the
 * checks' probe so that a pass counts only once that snapshot showed the stack converged.
 */
export function swarmWatch(
  remote: Remote,
  project: string,
  switched: Partial<Switched>
): {
  containers(): Promise<ContainerState[]>
  judge(): SwarmVerdict
  counted(
    probe: (check: HealthCheck) => Promise<ProbeResult>
  ): (check: HealthCheck) => Promise<ProbeResult>
} {
  let last: SwarmVerdict | undefined
  return {
    counted: probe => async check => countedProbe(await probe(check), last),
    async containers() {
      const snapshot = await stackSnapshot(remote, project)
      last = judgeSwarm(snapshot, switched.images ?? {}, switched.since)
      return last.states
    },
    judge() {
      return (
        last ?? {
          ready: false,
          fatal: false,
          problems: ['not looked at yet'],
          notReady: [],
          states: []
        }
      )
    }
  }
}

export async function taskLogsTail(remote: Remote, taskId: string, lines: number): Promise<string> {
  const r = await remote.run(cmd.taskLogs(taskId, lines))
  return `${r.stdout}${r.stderr}`.trimEnd()
}

/** Node ID → host name, for status. */
export async function nodeNames(remote: Remote): Promise<Map<string, string>> {
  const out = await runChecked(remote, cmd.swarmNodes())
  return new Map(
    out
      .split('\n')
      .map(l => l.trim().split(' '))
      .filter((p): p is [string, string] => p.length === 2)
  )
}
