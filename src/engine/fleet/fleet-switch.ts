// Moving the servers to one version, all or nothing, for a deploy (deploy.ts) and a rollback
// (rollback-command.ts): the switch in order (the first server alone, the canary, then the
// others max-parallel at a time); and, when one fails, every server that was switched put back
// on the version it ran, each verified again. One server is a fleet of one (fleet.ts).

import type { DeployOptions } from '../../config/options.js'
import { releaseOf, type DeployRecord, type Release } from '../../plan/history.js'
import type { ReleaseRun } from '../../plan/release-command.js'
import { failedRecord, keepFailed, rollBack } from '../steps/rollback.js'
import { appendRecords } from '../server/server-state.js'
import { switchOrder } from './targets.js'
import type { ServerRun } from '../steps/deploy-steps.js'
import type { SwitchInFlight } from '../server/in-flight.js'
import { noteSwitches, type CommandResult } from '../commands/result.js'
import type { SessionPorts } from '../server/session.js'
import { names, onEachServer, type Failure, type Fleet } from './fleet.js'
import { errorMessage, type Log } from '../io.js'

/** Appends `records` to a server's versions.log and to the run's view of its history. */
export async function recordOn(r: ServerRun, records: DeployRecord[]): Promise<void> {
  await appendRecords(r.s.remote, r.s.o.deployPath, records)
  r.history.push(...records)
}

/**
 * The `switching` checkpoint for `runs`, servers of `fleet` whose switch began (one server: its
 * own, without names), so that a killed run's post step finishes what they were doing; '' when
 * `runs` is empty (nothing in flight).
 */
export function inFlightOn(fleet: Fleet, runs: ServerRun[], inFlight: SwitchInFlight): string {
  if (runs.length === 0) return ''
  if (fleet.one) return JSON.stringify(inFlight)
  const servers = Object.fromEntries(
    runs.map(r => [r.s.name, { previous: r.previous, target: r.target ?? '' }])
  )
  return JSON.stringify({ ...inFlight, servers })
}

/**
 * Cuts the servers over in order: the first alone, then groups of max-parallel; stops after the
 * first group where a server failed. Before each group, the `switching` checkpoint lists every
 * server whose switch began (one server: the checkpoint is that server's), so that a killed
 * run's post step puts them back.
 */
export async function switchInOrder(
  fleet: Fleet,
  o: DeployOptions,
  inFlight: SwitchInFlight,
  cut: (r: ServerRun) => Promise<string | undefined>,
  ports: Pick<SessionPorts, 'checkpoint'>,
  log: Log
): Promise<Failure[]> {
  const begun: ServerRun[] = []
  for (const [i, group] of switchOrder(fleet.runs, o.maxParallel).entries()) {
    begun.push(...group)
    ports.checkpoint('switching', inFlightOn(fleet, begun, inFlight))
    const these = names(group)
    if (i === 0 && !fleet.one)
      log.info(`canary: ${these} goes first, alone; the others follow once it is verified`)
    const cutOff = await fleet.step(i === 0 ? `canary ${these}` : `switch ${these}`, () =>
      Promise.all(group.map(async r => ({ r, why: await cut(r) })))
    )
    const failed = cutOff.flatMap(c => (c.why ? [{ r: c.r, why: c.why }] : []))
    if (failed.length > 0) return failed
  }
  return []
}

export interface PutBackPlan {
  /** The version the servers were moved to, which failed. */
  release: Release
  /** Why, server by server. */
  why: string
  /** The rollback command's run on the first server, when it ran before the servers go back. */
  undo?: ReleaseRun
  /** The services a version goes back with when its records do not list them (default: release's). */
  services?: string[]
  /**
   * The failure as one server tells it, given why putting it back failed (undefined: it is back,
   * and well).
   */
  toldByOne(problem: string | undefined): string
}

/**
 * Every switched server goes back to its `target` (the version it ran), verified again; one
 * without a target (its first deploy) keeps the failed version. Records ✖ and ↩ on each, sets
 * the result's status (rolled-back, or rollback-failed naming each server that did not make it),
 * failure, and the first server's health and switches on the way back.
 */
export async function putSwitchedBack(
  fleet: Fleet,
  plan: PutBackPlan,
  o: DeployOptions,
  result: CommandResult
): Promise<void> {
  const switched = fleet.runs.filter(r => r.switched)
  const untouched = fleet.runs.filter(r => !r.switched)
  const lead = switched[0]
  result.rolledBack = true
  await fleet.onEach('rollback', switched, async r => {
    try {
      await r.s.reconnectIfLost()
    } catch (e) {
      fleet.mark(
        r,
        'unknown',
        plan.release.version,
        `${errorMessage(e)}. It may run ${plan.release.version} or ${r.target || 'nothing'}: the action's post step tries to put it back; look at it (command: status) before you deploy again`
      )
      return
    }
    if (!r.target) {
      r.history.push(...(await keepFailed(r.s.remote, r.s.o, r.attempt).catch(() => [])))
      fleet.mark(r, 'rollback-failed', plan.release.version, 'no earlier version to go back to')
      return
    }
    const target = {
      method: r.s.state.currentMethod || o.method,
      ...releaseOf(r.history, r.target, plan.services ?? plan.release.services)
    }
    try {
      // The release command's undo ran once, on the first server, before any went back.
      const back = await rollBack(
        r.s.remote,
        r.s.o,
        r.attempt,
        target,
        r.s.flavor,
        r.s.phases,
        r.s.log,
        r === lead ? plan.undo : undefined
      )
      r.history.push(...back.records)
      if (r === lead) {
        result.rollbackHealth = back.health
        noteSwitches(result, 'rollback', back.services)
      }
      if (back.problem) fleet.mark(r, 'rollback-failed', r.target, back.problem)
      else fleet.mark(r, 'rolled-back', r.target)
    } catch (e) {
      fleet.mark(r, 'rollback-failed', '', errorMessage(e))
    }
  })
  const problem = (r: ServerRun) => fleet.outcomes.of(r)?.failure ?? ''
  const broken = switched.filter(r =>
    ['rollback-failed', 'unknown'].includes(fleet.outcomes.of(r)?.status ?? '')
  )
  result.status = broken.length > 0 ? 'rollback-failed' : 'rolled-back'
  if (fleet.one) {
    result.failure = plan.toldByOne(lead && broken.includes(lead) ? problem(lead) : undefined)
    return
  }
  if (broken.length > 0) {
    result.failure = `${plan.why}\nPutting the servers back FAILED on ${broken.length} of ${switched.length}:\n${broken.map(r => `${r.s.name}: ${problem(r)}`).join('\n')}\nThe servers may run different versions now: look at each (command: status) before you deploy again.`
    return
  }
  const checked = o.skipHealthcheck ? 'not verified: skip-healthcheck is set' : 'each healthy again'
  result.failure = `${plan.why}\nEvery server that was switched is back on the version it ran (${switched.map(r => `${r.s.name} ${r.target}`).join(', ')}; ${checked}).${untouched.length > 0 ? ` Never switched: ${names(untouched)}.` : ''}`
}

/** The attempt recorded as failed on servers that were never switched; problems are notices. */
export async function recordUntouched(
  fleet: Fleet,
  runs: ServerRun[],
  notice: (m: string) => void
): Promise<void> {
  const unrecorded = await onEachServer(runs, r => recordOn(r, [failedRecord(r.attempt)]))
  for (const f of unrecorded) {
    notice(fleet.tell(f.r, `could not record the failed attempt: ${f.why}`))
  }
}

/**
 * Once every server passed its checks (or skip-healthcheck waived them), the version stays: the
 * checkpoint says so first, so that a killed run's post step only records it, never rolls it
 * back. Then `record` runs on each server. Where it failed, a notice says so; the caller leaves
 * the checkpoint of those servers (inFlightOn) for the post step when the command ends.
 */
export async function recordVerified(
  fleet: Fleet,
  verified: SwitchInFlight,
  record: (r: ServerRun) => Promise<void>,
  ports: Pick<SessionPorts, 'checkpoint'>,
  notice: (m: string) => void
): Promise<ServerRun[]> {
  ports.checkpoint('switching', inFlightOn(fleet, fleet.runs, verified))
  const unkept = await fleet.onEach('record', fleet.runs, record)
  if (unkept.length > 0) {
    notice(
      `${verified.version} is in service${fleet.one ? '' : ' on every server'} and passed its checks, but recording it failed${fleet.one ? '' : ' on'}:\n${fleet.told(unkept)}\nIt stays in service; the post step writes the record (current_version and versions.log).`
    )
  }
  return unkept.map(f => f.r)
}

/**
 * The attempt left in service on `runs`, recorded as failed (no-rollback, a first deploy, a
 * rollback command that failed), over a connection made again if it was lost; problems are
 * notices.
 */
export async function keepFailedOn(
  fleet: Fleet,
  runs: ServerRun[],
  notice: (m: string) => void
): Promise<void> {
  const unrecorded = await onEachServer(runs, async r => {
    await r.s.reconnectIfLost()
    r.history.push(...(await keepFailed(r.s.remote, r.s.o, r.attempt)))
  })
  for (const f of unrecorded) {
    notice(fleet.tell(f.r, `could not record the failed attempt: ${f.why}`))
  }
}
