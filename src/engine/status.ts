// `command: status`: what runs and whether it is well, changing nothing. The version in service
// with its record (method, commit, time, actor), every container of the project, and one pass
// of the health checks. An unhealthy stack fails the step, so a scheduled status job alerts.

import type { DeployOptions } from '../config/options.js'
import { serviceNames } from '../config/options.js'
import { lastRecordOf, newestFirst, releaseOf } from '../plan/history.js'
import { describeFiles } from '../plan/release-paths.js'
import {
  judgeContainers,
  type ContainerState,
  type ContainersVerdict
} from '../health/containers.js'
import {
  judgeSwarm,
  serviceStatuses,
  type ServiceStatus,
  type SwarmVerdict
} from '../health/swarm.js'
import type { DeployRecord, Release } from '../plan/history.js'
import type { Remote } from '../remote/remote.js'
import { nodeNames, pinsOf, stackSnapshot } from './swarm.js'
import { releaseDir } from '../remote/commands.js'
import { probe } from '../health/probes.js'
import type { CheckResult } from '../health/poller.js'
import { readRestorable } from './holdings.js'
import { readServerState } from './server-state.js'
import { withServer } from './session.js'
import { releaseProjectDirectory } from './switch.js'
import { expectedImages, probeTimeoutMs } from './verify.js'
import * as stack from './stack.js'
import { routesOf } from './ingress.js'
import { asCommand, type CommandPorts, type CommandResult } from './result.js'
import { errorMessage, type Log } from './io.js'

export async function status(
  o: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  return asCommand(o, log, (result, phases) =>
    withServer(o, ports, phases, async remote => {
      const state = await phases.run('inspect server', async () => {
        await stack.checkEngine(remote)
        return readServerState(remote, o.deployPath)
      })
      const current = state.currentVersion
      result.version = current
      result.method = state.currentMethod
      result.history = newestFirst(state.history, o.keepHistory)
      result.running = lastRecordOf(state.history, current)
      result.restorable = (await readRestorable(remote, o, state.history, current)).versions
      if (!current) {
        result.healthy = false
        result.failure = `nothing is deployed in ${o.deployPath} (no current_version)`
        return result
      }
      const release = releaseOf(state.history, current, serviceNames(o))
      result.projectDirectory = releaseProjectDirectory(o.deployPath, release)
      log.info(
        `in service: ${current} (${state.currentMethod || 'method unknown'}), ${result.running ? `deployed ${result.running.finished_at} from ${result.running.commit.slice(0, 7)}${result.running.actor ? ` by ${result.running.actor}` : ''}` : 'not in the history'}`
      )

      if (o.orchestrator === 'swarm') {
        // A stack is deployed from its release folder (stored file and digest pins), not a directory.
        result.projectDirectory = releaseDir(o.deployPath, current)
        log.info(`stack files: ${result.projectDirectory}/ (docker-compose.yml, swarm-images.yml)`)
      } else {
        log.info(
          `compose project directory: ${result.projectDirectory}${release.files ? ` (the release's own folder: ${describeFiles(release.files)})` : ''}`
        )
      }

      await phases.run('check', async () => {
        let verdict: ContainersVerdict
        let containers: ContainerState[]
        if (o.orchestrator === 'swarm') {
          const look = await lookAtSwarm(remote, o, release, state.history, log)
          verdict = look.verdict
          containers = look.verdict.states
          result.services = look.services
        } else {
          const expected = await expectedImages(remote, o.project, release).catch(e => {
            log.warn(`cannot read the images of ${current}: ${errorMessage(e)}`)
            return []
          })
          containers = await stack.containerStates(remote, o.project)
          verdict = judgeContainers(containers, expected)
          result.routes = await routesOf(remote, o.project).catch((e: unknown) => {
            log.warn(`cannot read the ingress's routes: ${errorMessage(e)}`)
            return undefined
          })
          for (const r of result.routes ?? []) {
            log.info(
              `route ${r.hosts.join(', ')}${r.path ?? ''} → ${r.service}: ${r.upstreams.join(', ')}`
            )
          }
        }
        result.containers = containers
        const checks: CheckResult[] = []
        for (const check of o.healthchecks) {
          const r = await probe(remote, check, probeTimeoutMs(o))
          checks.push({ line: check.line, ok: r.ok, attempts: 1, detail: r.detail })
          log.info(`${r.ok ? '✔' : '✖'} ${check.line}: ${r.detail}`)
        }
        for (const c of containers) {
          log.info(`${c.name}: ${c.status}${c.health ? ` (${c.health})` : ''} ${c.imageRef ?? ''}`)
        }
        const ok = verdict.ready && checks.every(c => c.ok)
        const reason = ok
          ? undefined
          : [
              ...checks.filter(c => !c.ok).map(c => `check "${c.line}" failed (${c.detail})`),
              ...verdict.problems
            ].join('; ')
        result.health = {
          ok,
          checks,
          containers: verdict,
          reason,
          elapsedMs: 0,
          states: containers
        }
        result.healthy = ok
        if (!ok) result.failure = `${current} is not healthy: ${reason}`
      })
      result.status = result.healthy ? 'success' : 'failed'
      return result
    })
  ).then(result => ({ ...result, healthy: result.healthy ?? false }))
}

/**
 * A swarm stack as it is: its services (replicas, the version each runs, the node of every task)
 * judged against the digests the version in service pinned.
 */
async function lookAtSwarm(
  remote: Remote,
  o: DeployOptions,
  release: Release,
  history: DeployRecord[],
  log: Log
): Promise<{ verdict: SwarmVerdict; services: ServiceStatus[] }> {
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
    log.info(`${s.name}: ${s.replicas} ${s.version ?? s.image}; ${s.tasks.join('; ') || 'no task'}`)
  }
  return { verdict: judgeSwarm(snapshot, pinned), services }
}
