// A deploy to several servers, all or nothing: connect to every server and take every lock
// (session.ts) → get every server ready at once (backup, transfer, release files) → the release
// command, once, on the first server → switch and verify the first server alone (the canary) →
// the others, max-parallel at a time, each verified → record and prune on every server. When any
// server fails its switch or its checks, every server that was switched goes back to the version
// it ran (the rollback command first, once, on the first server), each verified again; the
// servers never switched keep theirs. Every server's history records the attempt.

import { runFacts } from '../plan/history.js'
import type { ReleaseRun } from '../plan/release-command.js'
import { OneOffFailed, runReleaseCommand, runRollbackCommand } from './release-step.js'
import { keepFailed } from './rollback.js'
import { withLockedServers } from './session.js'
import {
  cutOver,
  getReady,
  keepNewVersion,
  serverRun,
  type Built,
  type DeployRun,
  type ServerRun
} from './deploy-steps.js'
import {
  listed,
  names,
  onEachServer,
  Outcomes,
  putSwitchedBack,
  recordUntouched,
  switchInOrder,
  versionsOf
} from './fleet-switch.js'
import { finisher, type CommandResult } from './result.js'
import { errorMessage } from './io.js'
import { oneOffFlavor } from './stack-strategy.js'

export async function deployToServers(b: Built, run: DeployRun): Promise<CommandResult> {
  const { o, release } = b
  const { ports, log, result, phases, notice, startedAt } = run
  return withLockedServers(o, ports, phases, log, notice, async sessions => {
    const facts = runFacts(o, startedAt)
    const runs = sessions.map(s => serverRun(s, release, facts, ports.now))
    const first = runs[0] as ServerRun
    result.previousVersion = first.previous
    const outcomes = new Outcomes(runs, result)
    // The result's history is the first server's; each server's own is in result.hosts.
    const finish = finisher(result, first.history, o.keepHistory, ports)
    const done = () => {
      outcomes.close(o.keepHistory)
      return finish()
    }
    if (runs.some(r => r.previous !== first.previous)) {
      notice(`the servers ran different versions before this deploy: ${versionsOf(runs)}`)
    }

    // Ready everywhere before any server switches; the release command once, on the first.
    const notReady = await phases.run('get ready', () =>
      onEachServer(runs, async r => {
        const delivered = await getReady(r, b, ports.docker)
        if (delivered?.bytes !== undefined) {
          result.transferredBytes = (result.transferredBytes ?? 0) + delivered.bytes
        }
      })
    )
    const sent = result.transferredBytes
    if (sent !== undefined && sent > 0) {
      result.transferNote = `${(sent / 1048576).toFixed(1)} MiB in all, to ${runs.length} servers (each only what it lacked)`
    }
    let stopped = listed(notReady)
    for (const f of notReady) outcomes.mark(f.r, 'failed', f.r.previous, f.why)
    const compose = oneOffFlavor(first.s.flavor)
    if (!stopped && o.releaseCommand && compose) {
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
        stopped = `${first.s.name}: ${errorMessage(e)}`
        outcomes.mark(first, 'failed', first.previous, errorMessage(e))
      }
    }
    if (!stopped) {
      // Never switch under a lock that another deploy has taken over.
      stopped = listed(
        runs.flatMap(r => {
          const why = r.s.lockLost()
          return why ? [{ r, why: `${why}; stopped before the switch` }] : []
        })
      )
    }
    if (stopped) {
      result.failure = `${stopped}\nNo server was switched: each still runs the version it ran (${versionsOf(runs)}).`
      await recordUntouched(runs, notice)
      return done()
    }

    const failed = await switchInOrder(
      runs,
      o,
      {
        version: o.version,
        previous: first.previous,
        target: first.target ?? '',
        startedAt,
        ...(first.attempt.releaseRun ? { released: first.attempt.releaseRun } : {})
      },
      r => cutOver(r, b, notice),
      ports,
      log,
      phases
    )
    result.health = (failed[0]?.r ?? first).health

    if (failed.length === 0) {
      const finishedAt = ports.now().toISOString()
      const unkept = await phases.run('record', () =>
        onEachServer(runs, r => keepNewVersion(r, b, finishedAt))
      )
      for (const r of runs) outcomes.mark(r, 'success', o.version)
      if (unkept.length > 0) {
        // Every server runs the new version, verified; only its record or pruning is missing.
        notice(
          `${o.version} is in service on every server, but recording it failed on:\n${listed(unkept)}`
        )
      }
      result.status = 'success'
      return done()
    }

    // All or nothing: every server that was switched goes back; the others keep what they ran.
    const why = listed(failed)
    for (const f of failed) outcomes.mark(f.r, 'failed', o.version, f.why)
    const switched = runs.filter(r => r.switched)
    const untouched = runs.filter(r => !r.switched)
    await recordUntouched(untouched, notice)

    if (o.noRollback) {
      await onEachServer(switched, async r => {
        r.history.push(...(await keepFailed(r.s.remote, r.s.o, r.attempt)))
      })
      for (const r of switched) outcomes.mark(r, 'failed', o.version, outcomes.of(r)?.failure)
      result.failure = `${why}\nno-rollback is set: ${o.version} was left in place for inspection on ${names(switched)}${untouched.length > 0 ? `; ${names(untouched)} still run what they ran` : ''}.`
      return done()
    }

    log.warn(
      `${why}\nPutting back every server that was switched: ${switched.map(r => `${r.s.name} → ${r.target ?? 'nothing (first deploy)'}`).join(', ')}.`
    )
    // What the release command did is undone once, on the first server, before any goes back.
    let undo: ReleaseRun | undefined
    if (first.attempt.releaseRun && first.target && compose) {
      const target = first.target
      try {
        undo = await first.s.phases.run('rollback command', () =>
          runRollbackCommand(first.s.remote, first.s.o, compose, release, target, first.s.log)
        )
        result.undo = undo
      } catch (e) {
        if (e instanceof OneOffFailed) result.undo = e.run
        await onEachServer(switched, async r => {
          r.history.push(...(await keepFailed(r.s.remote, r.s.o, r.attempt)))
        })
        for (const r of switched) outcomes.mark(r, 'rollback-failed', o.version, errorMessage(e))
        result.rolledBack = true
        result.status = 'rollback-failed'
        result.failure = `${why}\nThe rollback command failed on ${first.s.name}: ${errorMessage(e)}\nNo server was switched back: ${o.version} stays in service on ${names(switched)}. Look at the database before you deploy or roll back again.`
        return done()
      }
    }
    await putSwitchedBack(
      runs,
      { release, why, ...(undo ? { undo } : {}) },
      o,
      outcomes,
      result,
      phases
    )
    return done()
  })
}
