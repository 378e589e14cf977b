// `command: rollback`, as one story over one server or several: connect and lock every server →
// choose the target (the version given, or the newest success before the one in service, which
// must be the same on every server) and refuse, before touching anything, unless every server
// can restore it → backup on each → (the version in service ran a release command, and the
// target is older) the rollback command, once, on the first server → switch to the target's
// images and stored compose file and verify, the first server first (with several, alone: the
// canary) → record ↩ on each. When the target fails its checks anywhere, every server that was
// switched goes back to the version it ran (fleet-switch.ts), recorded so. One server is a
// fleet of one (fleet.ts): the same story, told without server names.

import type { DeployOptions } from '../../config/options.js'
import { serviceNames } from '../../config/options.js'
import {
  deployedBefore,
  newestFirst,
  newRecord,
  releaseOf,
  releaseRanFor,
  runFacts
} from '../../plan/history.js'
import type { ReleaseRun } from '../../plan/release-command.js'
import { previousGoodVersion, whyNotRestorable } from '../../plan/rollback-target.js'
import { backupRunning } from '../steps/backup.js'
import { readRestorable } from '../server/holdings.js'
import { putBack } from '../steps/rollback.js'
import { OneOffFailed, runRollbackCommand, stoppedBeforeSwitch } from '../steps/release-step.js'
import { writeCurrent } from '../server/server-state.js'
import { withLockedServers, type ServerSession } from '../server/session.js'
import type { ServerRun } from '../steps/deploy-steps.js'
import { Fleet, lostLocks, takenOver } from '../fleet/fleet.js'
import {
  inFlightOn,
  putSwitchedBack,
  recordOn,
  recordVerified,
  switchInOrder
} from '../fleet/fleet-switch.js'
import type { SwitchInFlight } from '../server/in-flight.js'
import {
  asCommand,
  finisher,
  noteSwitches,
  noticeTo,
  type CommandPorts,
  type CommandResult
} from './result.js'
import { errorMessage, type Log } from '../io.js'
import { oneOffFlavor } from '../stack/stack-strategy.js'
import { stackStrategy } from '../stack/choose-strategy.js'

const restorableList = (versions: string[]) =>
  versions.length > 0
    ? `Versions that can be restored, newest first: ${versions.join(', ')}`
    : 'No version can be restored.'

/**
 * The one version every server goes to; refuses (throws) unless every server has a version in
 * service and can restore it. Sets the result's version and restorable (what every server can
 * go back to) as soon as they are known, so that a refusal shows them.
 */
function decide(
  o: DeployOptions,
  sessions: ServerSession[],
  looks: Awaited<ReturnType<typeof readRestorable>>[],
  result: CommandResult
): string {
  const one = sessions.length === 1
  const restorable = looks.map(l => l.versions)
  result.restorable = (restorable[0] ?? []).filter(v => restorable.every(r => r.includes(v)))
  const each = (f: (s: ServerSession, i: number) => string) =>
    sessions.map((s, i) => `${s.name}: ${f(s, i)}`).join('\n')
  const listed = one
    ? restorableList(result.restorable)
    : `Versions each server can restore, newest first:\n${each((_, i) => restorable[i]?.join(', ') || 'none')}`
  const wanted = sessions.map(
    s => o.version || previousGoodVersion(s.state.history, s.state.currentVersion) || ''
  )
  const target = wanted[0] ?? ''
  const none = sessions.filter((_, i) => wanted[i] === '')
  if (none.length > 0) {
    throw new Error(
      one
        ? `no version was recorded as a success before ${sessions[0]?.state.currentVersion}. ${listed}`
        : `no version was recorded as a success before the one in service on ${none.map(s => s.name).join(', ')}. ${listed}`
    )
  }
  if (wanted.some(w => w !== target)) {
    throw new Error(
      `the servers do not agree on the version before the one in service:\n${each((s, i) => `${s.state.currentVersion} in service, previous good ${wanted[i] || 'none'}`)}\nName the version to go to (input version).`
    )
  }
  result.version = target
  if (sessions.every(s => s.state.currentVersion === target)) {
    throw new Error(
      one
        ? `${target} is already in service. ${listed}`
        : `${target} is already in service on every server`
    )
  }
  const services = serviceNames(o)
  const refused = sessions.flatMap((s, i) => {
    if (s.state.currentVersion === target) return []
    const why = whyNotRestorable(s.state.history, target, o.project, services, looks[i]!.held)
    return why ? [{ s, why }] : []
  })
  if (refused.length > 0) {
    throw new Error(
      one
        ? `${target} cannot be restored: ${refused[0]?.why}. ${listed}`
        : `${target} cannot be restored on every server, so no server was changed:\n${refused.map(x => `${x.s.name}: ${x.why}`).join('\n')}\n${listed}`
    )
  }
  return target
}

export async function rollbackCommand(
  o: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  const startedAt = ports.now().toISOString()
  return asCommand(o, log, (result, phases) => {
    const notice = noticeTo(result, log)
    return withLockedServers(o, ports, phases, log, notice, async sessions => {
      const lead = sessions[0] as ServerSession
      result.previousVersion = lead.state.currentVersion
      result.history = newestFirst(lead.state.history, o.keepHistory)
      const empty = sessions.filter(s => !s.state.currentVersion)
      if (empty.length > 0) {
        throw new Error(
          sessions.length === 1
            ? `nothing is deployed in ${o.deployPath} yet: there is nothing to roll back`
            : `nothing is deployed in ${o.deployPath} yet on ${empty.map(s => s.name).join(', ')}: there is nothing to roll back there`
        )
      }

      // Decide, and refuse before anything changes.
      const looks = await phases.run('find versions', () =>
        Promise.all(
          sessions.map(s => readRestorable(s.remote, s.o, s.state.history, s.state.currentVersion))
        )
      )
      const target = decide(o, sessions, looks, result)
      const services = serviceNames(o)
      const release = releaseOf(lead.state.history, target, services)
      const facts = runFacts(o, startedAt)
      const all: ServerRun[] = sessions.map(s => {
        const current = s.state.currentVersion
        return {
          s,
          previous: current,
          target: current,
          history: [...s.state.history],
          attempt: {
            release: releaseOf(s.state.history, target, services),
            previous: current,
            facts,
            now: ports.now
          },
          switched: false
        }
      })
      const finish = finisher(result, (all[0] as ServerRun).history, o.keepHistory, ports)
      const every = Fleet.of(all, result, phases)
      // The command's end clears the switch in flight; `left`: what the post step must finish.
      const done = (left = '') => {
        every.close(o.keepHistory)
        finish()
        if (left) ports.checkpoint('switching', left)
        return result
      }
      // A server already on the target stays as it is.
      for (const r of all) if (r.previous === target) every.mark(r, 'success', target)
      const fleet = every.only(all.filter(r => r.previous !== target))
      const { runs, first } = fleet
      const current = first.previous
      log.info(
        fleet.one
          ? `rolling back from ${current} to ${target}`
          : `rolling back to ${target}: ${runs.map(r => `${r.s.name} from ${r.previous}`).join(', ')}`
      )
      const unready = await fleet.onEach('backup', runs, r =>
        !stackStrategy(r.s.o.orchestrator).keepsImages
          ? Promise.resolve()
          : r.s.phases.run('backup', () =>
              backupRunning(r.s.remote, r.s.o, releaseOf(r.history, r.previous, services), r.s.log)
            )
      )
      const lost = lostLocks(runs, 'stopped before the switch')
      const stopped = [...unready, ...lost]
      if (stopped.length > 0) {
        throw new Error(
          fleet.one
            ? fleet.told(stopped)
            : `${fleet.told(stopped)}\nStopped before the switch: no server was changed.`
        )
      }

      // Going back past the release of the version in service: its own code undoes it, once.
      let undo: ReleaseRun | undefined
      const older = deployedBefore(first.history, target, current)
      const compose = oneOffFlavor(first.s.flavor)
      if (older && releaseRanFor(first.history, current) && compose) {
        try {
          undo = await first.s.phases.run('rollback command', () =>
            runRollbackCommand(
              first.s.remote,
              first.s.o,
              compose,
              releaseOf(first.history, current, services),
              target,
              first.s.log
            )
          )
          result.undo = undo
        } catch (e) {
          if (e instanceof OneOffFailed) result.undo = e.run
          throw new Error(
            fleet.tell(first, `${errorMessage(e)}\n${stoppedBeforeSwitch(current, target)}`)
          )
        }
      } else if (!older && releaseRanFor(first.history, target)) {
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
      const failed = await switchInOrder(
        fleet,
        o,
        inFlight,
        async r => {
          r.switched = true
          const back = await putBack(
            r.s.remote,
            r.s.o,
            r.s.flavor,
            r.attempt.release,
            r.s.phases,
            r.s.log,
            { restore: 'switch', verify: 'verify' }
          )
          r.health = back.health
          r.services = back.services
          return back.problem
        },
        ports,
        log
      )
      result.health = (failed[0]?.r ?? first).health
      noteSwitches(result, 'switch', first.services)
      if (failed.length === 0) {
        // Never record under a lock that another deploy has taken over (while this one verified).
        const taken = lostLocks(runs, 'stopped before the record')
        if (taken.length > 0) {
          result.failure = takenOver(fleet, taken, target)
          return done()
        }
        // A verified version is never undone by bookkeeping.
        const finishedAt = ports.now().toISOString()
        const recordOf = (r: ServerRun) =>
          newRecord(facts, 'rollback', r.attempt.release, r.previous, finishedAt, {
            undo: r === first ? undo : undefined
          })
        const verified = { ...inFlight, verified: recordOf(first) }
        const unrecorded = await recordVerified(
          fleet,
          verified,
          r =>
            r.s.phases.run('record', async () => {
              await writeCurrent(r.s.remote, r.s.o.deployPath, target, release.method ?? o.method)
              await recordOn(r, [recordOf(r)])
            }),
          ports,
          notice
        )
        for (const r of runs) fleet.mark(r, 'success', target)
        result.status = 'success'
        result.rolledBack = true
        return done(inFlightOn(fleet, unrecorded, verified))
      }

      // The target is not well somewhere: every server switched goes back to what it ran.
      const why = fleet.one
        ? `rolling back to ${target} failed: ${fleet.told(failed)}`
        : `rolling back to ${target} failed:\n${fleet.told(failed)}`
      for (const f of failed) fleet.mark(f.r, 'failed', target, f.why)
      log.warn(
        fleet.one
          ? `${fleet.told(failed)}\nRestoring ${current}.`
          : `${why}\nPutting back every server that was switched.`
      )
      const undone = undo
        ? `\nThe rollback command of ${current} ran before the switch: ${current} now runs on what it left (deploy ${current} again to run its release command).`
        : ''
      await putSwitchedBack(
        fleet,
        {
          release,
          why,
          services,
          toldByOne: problem =>
            problem
              ? `${why}\nRestoring ${current} failed too: ${problem}${undone}`
              : `${why}\n${current} is back in service.${undone}`
        },
        o,
        result
      )
      // A rollback that ends where it started has failed, whatever the way back did.
      result.status = result.status === 'rolled-back' ? 'failed' : result.status
      result.rolledBack = false
      if (!fleet.one) result.failure += undone
      // A server that could not be reached to be put back is left to the post step.
      return done(inFlightOn(fleet, fleet.marked('unknown'), inFlight))
    })
  })
}
