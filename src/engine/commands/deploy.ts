// The deploy, as one story over one server or several: on the runner (build-release.ts),
// validate → (registry: login) → build (or, skip-build, find the images built) → (registry:
// push); then connect and lock every server → get each ready at once (backup, transfer, release
// files) → (release-command) the release, once, on the first server → switch and verify the
// first server (with several, alone: the canary), then the others → record and prune on each.
// When a switch or its checks fail, every server that was switched goes back to the version it
// ran (the rollback command first, once), verified again; the others keep theirs. One server is
// a fleet of one (fleet.ts): the same story, told without server names. The steps on a server
// live in deploy-steps.ts; how images travel is the method's Shipping (shipping.ts).

import type { DeployOptions } from '../../config/options.js'
import { runFacts } from '../../plan/history.js'
import { versionClash } from '../../plan/version-clash.js'
import { checkVersionName } from '../steps/version-name.js'
import type { ReleaseRun } from '../../plan/release-command.js'
import { buildRelease } from '../runner/build-release.js'
import {
  OneOffFailed,
  runReleaseCommand,
  runRollbackCommand,
  stoppedBeforeSwitch
} from '../steps/release-step.js'
import { withLockedServers } from '../server/session.js'
import {
  cutOver,
  getReady,
  keepNewVersion,
  serverRun,
  successRecord,
  type Built,
  type DeployRun
} from '../steps/deploy-steps.js'
import { Fleet, lostLocks, names, takenOver, versionsOf, type Failure } from '../fleet/fleet.js'
import {
  inFlightOn,
  keepFailedOn,
  putSwitchedBack,
  recordOn,
  recordUntouched,
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

export function deploy(
  options: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  // A failure thrown out of the phases left no decision to make (build error, no connection).
  return asCommand(options, log, async (result, phases) => {
    const startedAt = ports.now().toISOString()
    const notice = noticeTo(result, log)
    const built = await buildRelease(options, ports, log, result, phases, notice)
    return deployToServers(built, { ports, log, result, phases, notice, startedAt })
  })
}

async function deployToServers(b: Built, run: DeployRun): Promise<CommandResult> {
  const { o, release } = b
  const { ports, log, result, phases, notice, startedAt } = run
  return withLockedServers(o, ports, phases, log, notice, async sessions => {
    const facts = runFacts(o, startedAt)
    const fleet = Fleet.of(
      sessions.map(s => serverRun(s, release, facts, ports.now)),
      result,
      phases
    )
    const { runs, first } = fleet
    result.previousVersion = first.previous
    // The result's history is the first server's; with several, each one's is in result.hosts.
    const finish = finisher(result, first.history, o.keepHistory, ports)
    // The command's end clears the switch in flight; `left`: what the post step must finish.
    const done = (left = '') => {
      fleet.close(o.keepHistory)
      finish()
      if (left) ports.checkpoint('switching', left)
      return result
    }
    if (runs.some(r => r.previous !== first.previous)) {
      notice(`the servers ran different versions before this deploy: ${versionsOf(runs)}`)
    }

    // A version name is an identity: one a server knows is refused unless its images are these.
    if (runs.some(r => versionClash(o.version, r.previous, r.history))) {
      const clashes = await phases.run('check version', () =>
        Promise.all(
          runs.map(r => checkVersionName(r, b, ports.docker, fleet.one ? '' : ` on ${r.s.name}`))
        )
      )
      if (clashes.every(c => c?.kind === 'in-service')) {
        await recordSameVersion(fleet, b, ports.now().toISOString(), log)
        result.status = 'success'
        return done()
      }
    }

    // Ready everywhere before any server switches; the release command once, on the first.
    const notes: string[] = []
    let stopped: Failure[] = await fleet.onEach('get ready', runs, async r => {
      const delivered = await getReady(r, b, ports.docker)
      if (delivered?.bytes !== undefined) {
        result.transferredBytes = (result.transferredBytes ?? 0) + delivered.bytes
      }
      if (delivered?.note) notes.push(delivered.note)
    })
    const sent = result.transferredBytes
    if (fleet.one) result.transferNote = notes[0]
    else if (sent !== undefined && sent > 0) {
      result.transferNote = `${(sent / 1048576).toFixed(1)} MiB in all, to ${runs.length} servers (each only what it lacked)`
    }
    const compose = oneOffFlavor(first.s.flavor)
    if (stopped.length === 0 && o.releaseCommand && compose) {
      try {
        first.attempt.releaseRun = await first.s.phases.run('release', () =>
          runReleaseCommand(
            first.s.remote,
            first.s.o,
            compose,
            release,
            first.previous,
            b.composeContent,
            first.s.log
          )
        )
        result.release = first.attempt.releaseRun
      } catch (e) {
        if (e instanceof OneOffFailed) first.attempt.releaseRun = result.release = e.run
        stopped = [{ r: first, why: errorMessage(e) }]
      }
    }
    if (stopped.length === 0) {
      // Never switch under a lock that another deploy has taken over.
      stopped = lostLocks(runs, 'stopped before the switch')
    }
    if (stopped.length > 0) {
      for (const f of stopped) fleet.mark(f.r, 'failed', f.r.previous, f.why)
      result.failure = fleet.one
        ? `${fleet.told(stopped)}\nThe running version (${first.previous || 'none'}) was not touched.`
        : `${fleet.told(stopped)}\nNo server was switched: each still runs the version it ran (${versionsOf(runs)}).`
      await recordUntouched(fleet, runs, notice)
      return done()
    }

    const inFlight: SwitchInFlight = {
      version: o.version,
      previous: first.previous,
      target: first.target ?? '',
      startedAt,
      ...(first.attempt.releaseRun ? { released: first.attempt.releaseRun } : {})
    }
    const failed = await switchInOrder(fleet, o, inFlight, r => cutOver(r, b, notice), ports, log)
    result.health = (failed[0]?.r ?? first).health
    noteSwitches(result, 'switch', first.services)

    if (failed.length === 0) {
      // Never record under a lock that another deploy has taken over (while this one verified).
      const lost = lostLocks(runs, 'stopped before the record')
      if (lost.length > 0) {
        result.failure = takenOver(fleet, lost, o.version)
        return done()
      }
      // A verified version is never undone by bookkeeping.
      const finishedAt = ports.now().toISOString()
      const verified = { ...inFlight, verified: successRecord(first, b, finishedAt) }
      const unkept = await recordVerified(
        fleet,
        verified,
        r => keepNewVersion(r, b, finishedAt, m => notice(fleet.tell(r, m))),
        ports,
        notice
      )
      for (const r of runs) fleet.mark(r, 'success', o.version)
      result.status = 'success'
      return done(inFlightOn(fleet, unkept, verified))
    }

    // All or nothing: every server that was switched goes back; the others keep what they ran.
    const why = fleet.told(failed)
    for (const f of failed) fleet.mark(f.r, 'failed', o.version, f.why)
    const switched = runs.filter(r => r.switched)
    const untouched = runs.filter(r => !r.switched)
    await recordUntouched(fleet, untouched, notice)

    const firstDeploy = switched.every(r => !r.target)
    if (o.noRollback || firstDeploy) {
      await keepFailedOn(fleet, switched, notice)
      for (const r of switched) fleet.mark(r, 'failed', o.version, fleet.outcomes.of(r)?.failure)
      const left = o.noRollback
        ? fleet.one
          ? `no-rollback is set: the failed version ${o.version} was left in place for inspection`
          : `no-rollback is set: ${o.version} was left in place for inspection on ${names(switched)}`
        : fleet.one
          ? 'there is no previous version to roll back to (first deploy): the failed version was left in place'
          : `there is no previous version to roll back to on ${names(switched)} (first deploy): ${o.version} was left in place there`
      const others = untouched.length > 0 ? `; ${names(untouched)} still run what they ran` : ''
      result.failure = `${why}\n${left}${others}.`
      return done()
    }

    const target = first.target ?? ''
    log.warn(
      fleet.one
        ? `${why}\nRolling back to ${target}.`
        : `${why}\nPutting back every server that was switched: ${switched.map(r => `${r.s.name} → ${r.target ?? 'nothing (first deploy)'}`).join(', ')}.`
    )
    // What the release command did is undone once, on the first server, before any goes back.
    let undo: ReleaseRun | undefined
    if (first.attempt.releaseRun && first.target && compose) {
      try {
        await first.s.reconnectIfLost()
        undo = await first.s.phases.run('rollback command', () =>
          runRollbackCommand(first.s.remote, first.s.o, compose, release, target, first.s.log)
        )
        result.undo = undo
      } catch (e) {
        if (e instanceof OneOffFailed) result.undo = e.run
        await keepFailedOn(fleet, switched, notice)
        for (const r of switched) fleet.mark(r, 'rollback-failed', o.version, errorMessage(e))
        result.rolledBack = true
        result.status = 'rollback-failed'
        result.failure = fleet.one
          ? `${why}\nThe rollback to ${target} failed too: ${errorMessage(e)}\n${stoppedBeforeSwitch(o.version, target)}`
          : `${why}\nThe rollback command failed on ${first.s.name}: ${errorMessage(e)}\nNo server was switched back: ${o.version} stays in service on ${names(switched)}. Look at the database before you deploy or roll back again.`
        return done()
      }
    }
    await putSwitchedBack(
      fleet,
      {
        release,
        why,
        ...(undo ? { undo } : {}),
        toldByOne: problem =>
          problem
            ? `${why}\nThe rollback to ${target} failed too: ${problem}`
            : o.skipHealthcheck
              ? `${why}\nRolled back to ${target} (not verified: skip-healthcheck is set).`
              : `${why}\nRolled back to ${target}, which is healthy again.`
      },
      o,
      result
    )
    // A server that could not be reached to be put back is left to the post step.
    return done(inFlightOn(fleet, fleet.marked('unknown'), inFlight))
  })
}

/**
 * A redeploy of the version in service with its very images: nothing ships, nothing restarts;
 * each server's history records it again.
 */
async function recordSameVersion(
  fleet: Fleet,
  b: Built,
  finishedAt: string,
  log: Log
): Promise<void> {
  log.info(
    `${b.release.version} is in service with these very images: nothing to ship or restart; recording the redeploy`
  )
  const unrecorded = await fleet.onEach('record', fleet.runs, r =>
    r.s.phases.run('record', () => recordOn(r, [successRecord(r, b, finishedAt)]))
  )
  if (unrecorded.length > 0) throw new Error(fleet.told(unrecorded))
}
