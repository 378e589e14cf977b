// `command: rollback`, as a story: connect → lock → inspect server → choose the target (the
// version given, or the newest success before the one in service) and refuse, before touching
// anything, one that cannot be restored → backup → (the version in service ran a release command,
// and the target is older) rollback command → switch to the target's images and stored compose
// file → verify → record ↩. When the target fails its checks, the version that was in
// service comes back (rollback.ts), recorded so.

import type { DeployOptions } from '../config/options.js'
import { serviceNames } from '../config/options.js'
import {
  deployedBefore,
  newestFirst,
  newRecord,
  releaseOf,
  releaseRanFor,
  runFacts
} from '../plan/history.js'
import type { ReleaseRun } from '../plan/release-command.js'
import { previousGoodVersion, whyNotRestorable } from '../plan/rollback-target.js'
import { backupRunning } from './backup.js'
import { readRestorable } from './holdings.js'
import { putBack, rollBack } from './rollback.js'
import { OneOffFailed, runRollbackCommand, stoppedBeforeSwitch } from './release-step.js'
import { appendRecords, writeCurrent } from './server-state.js'
import { withLockedServer } from './session.js'
import { targetsOf } from './targets.js'
import { rollbackServers } from './rollback-fleet.js'
import type { SwitchInFlight } from './in-flight.js'
import {
  asCommand,
  finisher,
  noteSwitches,
  noticeTo,
  type CommandPorts,
  type CommandResult
} from './result.js'
import { errorMessage, type Log } from './io.js'
import { stackStrategy } from './stack-strategy.js'
import { oneOffFlavor } from './stack-strategy.js'

const listed = (versions: string[]) =>
  versions.length > 0
    ? `Versions that can be restored, newest first: ${versions.join(', ')}`
    : 'No version can be restored.'

export async function rollbackCommand(
  o: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  if (targetsOf(o).length > 1) return rollbackServers(o, ports, log)
  const startedAt = ports.now().toISOString()
  return asCommand(o, log, (result, phases) =>
    withLockedServer(o, ports, phases, log, noticeTo(result, log), async session => {
      const { remote, state, flavor } = session
      const current = state.currentVersion
      const history = [...state.history]
      result.previousVersion = current
      result.history = newestFirst(history, o.keepHistory)
      const finish = finisher(result, history, o.keepHistory, ports)
      if (!current) {
        throw new Error(`nothing is deployed in ${o.deployPath} yet: there is nothing to roll back`)
      }

      // Decide, and refuse before anything changes.
      const names = serviceNames(o)
      const { held, versions } = await phases.run('find versions', () =>
        readRestorable(remote, o, history, current)
      )
      result.restorable = versions
      const target = o.version || previousGoodVersion(history, current)
      if (!target) {
        throw new Error(
          `no version was recorded as a success before ${current}. ${listed(result.restorable)}`
        )
      }
      result.version = target
      if (target === current) {
        throw new Error(`${target} is already in service. ${listed(result.restorable)}`)
      }
      const why = whyNotRestorable(history, target, o.project, names, held)
      if (why) throw new Error(`${target} cannot be restored: ${why}. ${listed(result.restorable)}`)

      const release = releaseOf(history, target, names)
      const running = releaseOf(history, current, names)
      log.info(`rolling back from ${current} to ${target}`)
      if (stackStrategy(o.orchestrator).keepsImages)
        await phases.run('backup', () => backupRunning(remote, o, running, log))
      const lost = session.lockLost()
      if (lost) throw new Error(`${lost}; stopped before the switch`)

      // Going back past the release of the version in service: its own code undoes it first.
      let undo: ReleaseRun | undefined
      const older = deployedBefore(history, target, current)
      const compose = oneOffFlavor(flavor)
      if (older && releaseRanFor(history, current) && compose) {
        try {
          undo = await phases.run('rollback command', () =>
            runRollbackCommand(remote, o, compose, running, target, log)
          )
          result.undo = undo
        } catch (e) {
          if (e instanceof OneOffFailed) result.undo = e.run
          throw new Error(`${errorMessage(e)}\n${stoppedBeforeSwitch(current, target)}`)
        }
      } else if (!older && releaseRanFor(history, target)) {
        log.warn(
          `${target} is newer than ${current}: a rollback does not run its release command again (deploy it to run it)`
        )
      }

      const inFlight: SwitchInFlight = {
        command: 'rollback',
        version: target,
        previous: current,
        target: current,
        startedAt
      }
      ports.checkpoint('switching', JSON.stringify(inFlight))
      const facts = runFacts(o, startedAt)
      const back = await putBack(remote, o, flavor, release, phases, log, {
        restore: 'switch',
        verify: 'verify'
      })
      result.health = back.health
      noteSwitches(result, 'switch', back.services)
      if (!back.problem) {
        const record = newRecord(facts, 'rollback', release, current, ports.now().toISOString(), {
          undo
        })
        await phases.run('record', async () => {
          await writeCurrent(remote, o.deployPath, target, release.method ?? o.method)
          await appendRecords(remote, o.deployPath, [record])
        })
        result.status = 'success'
        result.rolledBack = true
        return finish(record)
      }

      // The target is not well: the version that was in service comes back.
      log.warn(`${back.problem}\nRestoring ${current}.`)
      const restored = await rollBack(
        remote,
        o,
        { release, previous: current, facts, now: ports.now },
        { method: state.currentMethod || o.method, ...running },
        flavor,
        phases,
        log
      )
      result.rollbackHealth = restored.health
      noteSwitches(result, 'rollback', restored.services)
      const undone = undo
        ? `\nThe rollback command of ${current} ran before the switch: ${current} now runs on what it left (deploy ${current} again to run its release command).`
        : ''
      result.failure = restored.problem
        ? `rolling back to ${target} failed: ${back.problem}\nRestoring ${current} failed too: ${restored.problem}${undone}`
        : `rolling back to ${target} failed: ${back.problem}\n${current} is back in service.${undone}`
      return finish(...restored.records)
    })
  )
}
