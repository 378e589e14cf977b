// Moving several servers to one version, all or nothing, for a deploy (deploy-fleet.ts) and a
// rollback (rollback-fleet.ts): each server's outcome; the switch in order (the first server
// alone, the canary, then the others max-parallel at a time); and, when one fails, every server
// that was switched put back on the version it ran, each verified again.

import type { DeployOptions } from '../config/options.js'
import { releaseOf, type DeployRecord, type Release } from '../plan/history.js'
import type { ReleaseRun } from '../plan/release-command.js'
import type { HealthReport } from '../health/poller.js'
import { failedRecord, keepFailed, rollBack } from './rollback.js'
import { appendRecords } from './server-state.js'
import { switchOrder } from './targets.js'
import type { ServerRun } from './deploy-steps.js'
import type { SwitchInFlight } from './in-flight.js'
import type { CommandResult, ServerOutcome, ServerStatus } from './result.js'
import type { SessionPorts } from './session.js'
import { errorMessage, type Log, type Phases } from './io.js'

/** Runs `step` on every server at once; the servers where it threw, with why. */
export async function onEachServer<R extends { s: { name: string } }>(
  runs: R[],
  step: (r: R) => Promise<unknown>
): Promise<{ r: R; why: string }[]> {
  const settled = await Promise.allSettled(runs.map(r => step(r)))
  return settled.flatMap((x, i) =>
    x.status === 'rejected' ? [{ r: runs[i] as R, why: errorMessage(x.reason) }] : []
  )
}

/** One line per server: `name: why`. */
export const listed = (failures: { r: { s: { name: string } }; why: string }[]) =>
  failures.map(f => `${f.r.s.name}: ${f.why}`).join('\n')

export const names = (runs: ServerRun[]) => runs.map(r => r.s.name).join(', ')

/** Each server with the version it ran before the command. */
export const versionsOf = (runs: ServerRun[]) =>
  runs.map(r => `${r.s.name} ${r.previous || 'none'}`).join(', ')

/** Each server's outcome, kept in result.hosts in the order of the runs. */
export class Outcomes {
  private readonly byRun = new Map<ServerRun, ServerOutcome>()

  constructor(
    private readonly runs: ServerRun[],
    result: CommandResult
  ) {
    for (const r of runs) {
      this.byRun.set(r, {
        host: r.s.name,
        previous: r.previous,
        version: r.previous,
        status: 'not-switched',
        phases: r.s.phases.timings
      })
    }
    result.hosts = [...this.byRun.values()]
  }

  mark(r: ServerRun, status: ServerStatus, version: string, failure?: string): void {
    const outcome = this.byRun.get(r)
    if (!outcome) return
    Object.assign(outcome, { status, version }, failure ? { failure } : {})
  }

  of(r: ServerRun): ServerOutcome | undefined {
    return this.byRun.get(r)
  }

  /** Each server's history joins its outcome, newest first. */
  close(keepHistory: number): void {
    for (const r of this.runs) {
      const outcome = this.byRun.get(r)
      if (outcome) outcome.history = r.history.slice(-keepHistory).reverse()
    }
  }
}

/** Appends `records` to a server's versions.log and to the run's view of its history. */
export async function recordOn(r: ServerRun, records: DeployRecord[]): Promise<void> {
  await appendRecords(r.s.remote, r.s.o.deployPath, records)
  r.history.push(...records)
}

/**
 * Cuts the servers over in order: the first alone, then groups of max-parallel; stops after the
 * first group where a server failed. Before each group, the `switching` checkpoint lists every
 * server whose switch began, so that a killed run's post step puts them back.
 */
export async function switchInOrder(
  runs: ServerRun[],
  o: DeployOptions,
  inFlight: SwitchInFlight,
  cut: (r: ServerRun) => Promise<string | undefined>,
  ports: Pick<SessionPorts, 'checkpoint'>,
  log: Log,
  phases: Phases
): Promise<{ r: ServerRun; why: string }[]> {
  const servers: NonNullable<SwitchInFlight['servers']> = {}
  for (const [i, group] of switchOrder(runs, o.maxParallel).entries()) {
    for (const r of group) servers[r.s.name] = { previous: r.previous, target: r.target ?? '' }
    ports.checkpoint('switching', JSON.stringify({ ...inFlight, servers }))
    const these = names(group)
    if (i === 0)
      log.info(`canary: ${these} goes first, alone; the others follow once it is verified`)
    const cutOff = await phases.run(i === 0 ? `canary ${these}` : `switch ${these}`, () =>
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
}

/**
 * Every switched server goes back to its `target` (the version it ran), verified again; one
 * without a target (its first deploy) keeps the failed version. Records ✖ and ↩ on each, sets
 * the result's status (rolled-back, or rollback-failed naming each server that did not make it)
 * and failure.
 */
export async function putSwitchedBack(
  runs: ServerRun[],
  plan: PutBackPlan,
  o: DeployOptions,
  outcomes: Outcomes,
  result: CommandResult,
  phases: Phases
): Promise<void> {
  const switched = runs.filter(r => r.switched)
  const untouched = runs.filter(r => !r.switched)
  result.rolledBack = true
  let health: HealthReport | undefined
  await phases.run('rollback', () =>
    Promise.all(
      switched.map(async (r, i) => {
        if (!r.target) {
          r.history.push(...(await keepFailed(r.s.remote, r.s.o, r.attempt).catch(() => [])))
          outcomes.mark(
            r,
            'rollback-failed',
            plan.release.version,
            'no earlier version to go back to'
          )
          return
        }
        const target = {
          method: r.s.state.currentMethod || o.method,
          ...releaseOf(r.history, r.target, plan.release.services)
        }
        try {
          const back = await rollBack(
            r.s.remote,
            r.s.o,
            { ...r.attempt, releaseRun: undefined },
            target,
            r.s.flavor,
            r.s.phases,
            r.s.log,
            i === 0 ? plan.undo : undefined
          )
          r.history.push(...back.records)
          if (i === 0) health = back.health
          if (back.problem) outcomes.mark(r, 'rollback-failed', r.target, back.problem)
          else outcomes.mark(r, 'rolled-back', r.target)
        } catch (e) {
          outcomes.mark(r, 'rollback-failed', '', errorMessage(e))
        }
      })
    )
  )
  result.rollbackHealth = health
  const broken = switched.filter(r => outcomes.of(r)?.status === 'rollback-failed')
  if (broken.length > 0) {
    result.status = 'rollback-failed'
    result.failure = `${plan.why}\nPutting the servers back FAILED on ${broken.length} of ${switched.length}:\n${broken.map(r => `${r.s.name}: ${outcomes.of(r)?.failure ?? ''}`).join('\n')}\nThe servers may run different versions now: look at each (command: status) before you deploy again.`
    return
  }
  result.status = 'rolled-back'
  const checked = o.skipHealthcheck ? 'not verified: skip-healthcheck is set' : 'each healthy again'
  result.failure = `${plan.why}\nEvery server that was switched is back on the version it ran (${switched.map(r => `${r.s.name} ${r.target}`).join(', ')}; ${checked}).${untouched.length > 0 ? ` Never switched: ${names(untouched)}.` : ''}`
}

/** The attempt recorded as failed on servers that were never switched; problems are notices. */
export async function recordUntouched(
  runs: ServerRun[],
  notice: (m: string) => void
): Promise<void> {
  const unrecorded = await onEachServer(runs, r => recordOn(r, [failedRecord(r.attempt)]))
  for (const f of unrecorded) notice(`${f.r.s.name}: could not record the failed attempt: ${f.why}`)
}
