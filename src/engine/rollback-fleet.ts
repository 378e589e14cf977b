// `command: rollback` on several servers, all or nothing: connect to every server and take
// every lock → decide on each (the version given, or the previous good one, which must be the
// same on every server) and refuse, before anything changes, unless every server can restore it
// → backup on each → the rollback command, once, on the first server (when the version in
// service ran a release command and the target is older) → the first server alone, then the
// others (switch to the target, verify) → record ↩ on each. When any server fails, every server
// that was switched goes back to the version it ran (fleet-switch.ts).

import type { DeployOptions } from '../config/options.js'
import { serviceNames } from '../config/options.js'
import { deployedBefore, newRecord, releaseOf, releaseRanFor, runFacts } from '../plan/history.js'
import type { ReleaseRun } from '../plan/release-command.js'
import { previousGoodVersion, whyNotRestorable } from '../plan/rollback-target.js'
import { backupRunning } from './backup.js'
import { readRestorable } from './holdings.js'
import { putBack } from './rollback.js'
import { OneOffFailed, runRollbackCommand, stoppedBeforeSwitch } from './release-step.js'
import { writeCurrent } from './server-state.js'
import { withLockedServers, type ServerSession } from './session.js'
import type { ServerRun } from './deploy-steps.js'
import {
  listed,
  onEachServer,
  Outcomes,
  putSwitchedBack,
  recordOn,
  switchInOrder
} from './fleet-switch.js'
import { asCommand, finisher, noticeTo, type CommandPorts, type CommandResult } from './result.js'
import { errorMessage, type Log } from './io.js'
import { stackStrategy } from './stack-strategy.js'
import { oneOffFlavor } from './stack-strategy.js'

/** What each server can go back to, and the one version they would all go to. */
interface Decision {
  target: string
  /** Per server: versions it can restore, newest first. */
  restorable: string[][]
}

/** Refuses (throws) unless every server has a version in service and can restore the target. */
async function decide(o: DeployOptions, sessions: ServerSession[]): Promise<Decision> {
  const empty = sessions.filter(s => !s.state.currentVersion)
  if (empty.length > 0) {
    throw new Error(
      `nothing is deployed in ${o.deployPath} yet on ${empty.map(s => s.name).join(', ')}: there is nothing to roll back there`
    )
  }
  const looks = await Promise.all(
    sessions.map(s => readRestorable(s.remote, s.o, s.state.history, s.state.currentVersion))
  )
  const restorable = looks.map(l => l.versions)
  const each = (f: (s: ServerSession, i: number) => string) =>
    sessions.map((s, i) => `${s.name}: ${f(s, i)}`).join('\n')
  const wanted = sessions.map(
    s => o.version || previousGoodVersion(s.state.history, s.state.currentVersion) || ''
  )
  const target = wanted[0] ?? ''
  const none = sessions.filter((_, i) => wanted[i] === '')
  if (none.length > 0) {
    throw new Error(
      `no version was recorded as a success before the one in service on ${none.map(s => s.name).join(', ')}. Versions each server can restore, newest first:\n${each((_, i) => restorable[i]?.join(', ') || 'none')}`
    )
  }
  if (wanted.some(w => w !== target)) {
    throw new Error(
      `the servers do not agree on the version before the one in service:\n${each((s, i) => `${s.state.currentVersion} in service, previous good ${wanted[i] || 'none'}`)}\nName the version to go to (input version).`
    )
  }
  if (sessions.every(s => s.state.currentVersion === target)) {
    throw new Error(`${target} is already in service on every server`)
  }
  const names = serviceNames(o)
  const refused = sessions.flatMap((s, i) => {
    if (s.state.currentVersion === target) return []
    const why = whyNotRestorable(s.state.history, target, o.project, names, looks[i]!.held)
    return why ? [`${s.name}: ${why}`] : []
  })
  if (refused.length > 0) {
    throw new Error(
      `${target} cannot be restored on every server, so no server was changed:\n${refused.join('\n')}\nVersions each server can restore, newest first:\n${each((_, i) => restorable[i]?.join(', ') || 'none')}`
    )
  }
  return { target, restorable }
}

export async function rollbackServers(
  o: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  const startedAt = ports.now().toISOString()
  return asCommand(o, log, (result, phases) => {
    const notice = noticeTo(result, log)
    return withLockedServers(o, ports, phases, log, notice, async sessions => {
      const first = sessions[0] as ServerSession
      result.previousVersion = first.state.currentVersion
      const { target, restorable } = await phases.run('find versions', () => decide(o, sessions))
      result.version = target
      // The versions every server can restore.
      result.restorable = (restorable[0] ?? []).filter(v => restorable.every(r => r.includes(v)))
      const names = serviceNames(o)
      const release = releaseOf(first.state.history, target, names)
      const facts = runFacts(o, startedAt)
      const all: ServerRun[] = sessions.map(s => {
        const current = s.state.currentVersion
        return {
          s,
          previous: current,
          target: current,
          history: [...s.state.history],
          attempt: {
            release: releaseOf(s.state.history, target, names),
            previous: current,
            facts,
            now: ports.now
          },
          switched: false
        }
      })
      const outcomes = new Outcomes(all, result)
      const finish = finisher(result, (all[0] as ServerRun).history, o.keepHistory, ports)
      const done = () => {
        outcomes.close(o.keepHistory)
        return finish()
      }
      // A server already on the target stays as it is.
      const runs = all.filter(r => r.previous !== target)
      for (const r of all) if (r.previous === target) outcomes.mark(r, 'success', target)
      log.info(
        `rolling back to ${target}: ${runs.map(r => `${r.s.name} from ${r.previous}`).join(', ')}`
      )
      const unready = await phases.run('backup', () =>
        onEachServer(runs, r =>
          !stackStrategy(r.s.o.orchestrator).keepsImages
            ? Promise.resolve()
            : r.s.phases.run('backup', () =>
                backupRunning(r.s.remote, r.s.o, releaseOf(r.history, r.previous, names), r.s.log)
              )
        )
      )
      const lost = runs.flatMap(r => {
        const why = r.s.lockLost()
        return why ? [{ r, why }] : []
      })
      const stopped = listed([...unready, ...lost])
      if (stopped) throw new Error(`${stopped}\nStopped before the switch: no server was changed.`)

      // Going back past the release of the version in service: its own code undoes it, once.
      const lead = runs[0] as ServerRun
      let undo: ReleaseRun | undefined
      const current = lead.previous
      const older = deployedBefore(lead.history, target, current)
      const compose = oneOffFlavor(lead.s.flavor)
      if (older && releaseRanFor(lead.history, current) && compose) {
        try {
          undo = await lead.s.phases.run('rollback command', () =>
            runRollbackCommand(
              lead.s.remote,
              lead.s.o,
              compose,
              releaseOf(lead.history, current, names),
              target,
              lead.s.log
            )
          )
          result.undo = undo
        } catch (e) {
          if (e instanceof OneOffFailed) result.undo = e.run
          throw new Error(
            `${lead.s.name}: ${errorMessage(e)}\n${stoppedBeforeSwitch(current, target)}`
          )
        }
      }

      const failed = await switchInOrder(
        runs,
        o,
        { command: 'rollback', version: target, previous: current, target: current, startedAt },
        async r => {
          r.switched = true
          const back = await putBack(
            r.s.remote,
            r.s.o,
            r.s.flavor,
            r.attempt.release,
            r.s.phases,
            r.s.log,
            {
              restore: 'switch',
              verify: 'verify'
            }
          )
          r.health = back.health
          return back.problem
        },
        ports,
        log,
        phases
      )
      result.health = (failed[0]?.r ?? lead).health
      if (failed.length === 0) {
        const unrecorded = await phases.run('record', () =>
          onEachServer(runs, async r => {
            const record = newRecord(
              facts,
              'rollback',
              r.attempt.release,
              r.previous,
              ports.now().toISOString(),
              { undo: r === lead ? undo : undefined }
            )
            await writeCurrent(r.s.remote, r.s.o.deployPath, target, release.method ?? o.method)
            await recordOn(r, [record])
          })
        )
        for (const r of runs) outcomes.mark(r, 'success', target)
        if (unrecorded.length > 0) {
          notice(
            `${target} is in service on every server, but recording it failed on:\n${listed(unrecorded)}`
          )
        }
        result.status = 'success'
        result.rolledBack = true
        return done()
      }

      // The target is not well somewhere: every server switched goes back to what it ran.
      const why = `rolling back to ${target} failed:\n${listed(failed)}`
      for (const f of failed) outcomes.mark(f.r, 'failed', target, f.why)
      log.warn(`${why}\nPutting back every server that was switched.`)
      await putSwitchedBack(runs, { release, why }, o, outcomes, result, phases)
      // A rollback that ends where it started has failed, whatever the way back did.
      result.status = result.status === 'rolled-back' ? 'failed' : result.status
      result.rolledBack = false
      if (undo) {
        result.failure += `\nThe rollback command of ${current} ran before the switch: ${current} now runs on what it left (deploy ${current} again to run its release command).`
      }
      return done()
    })
  })
}
