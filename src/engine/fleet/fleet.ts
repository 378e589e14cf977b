// engine/fleet: what only several servers need: their order, the canary, each one's outcome.
//
// What a command on several servers needs beyond one, for the one deploy story and the one
// rollback story: each server's outcome (result.hosts), a phase around a step taken on every
// server at once, and server names in what it reports. With one server it adds nothing the
// user sees: no hosts, no extra phase, no names.

import type { ServerRun } from '../steps/deploy-steps.js'
import type { CommandResult, ServerOutcome, ServerStatus } from '../commands/result.js'
import { errorMessage, type Phases } from '../io.js'

/** A server where a step threw, and why. */
export interface Failure<R = ServerRun> {
  r: R
  why: string
}

/** Runs `step` on every server at once; the servers where it threw, with why. */
export async function onEachServer<R extends { s: { name: string } }>(
  runs: R[],
  step: (r: R) => Promise<unknown>
): Promise<Failure<R>[]> {
  const settled = await Promise.allSettled(runs.map(r => step(r)))
  return settled.flatMap((x, i) =>
    x.status === 'rejected' ? [{ r: runs[i] as R, why: errorMessage(x.reason) }] : []
  )
}

/** Each server's outcome; several servers: kept in result.hosts, in the order of the runs. */
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
    if (runs.length > 1) result.hosts = [...this.byRun.values()]
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

/** The servers of a command, the first (the canary) first. */
export class Fleet {
  private constructor(
    readonly runs: ServerRun[],
    readonly outcomes: Outcomes,
    private readonly phases: Phases,
    /** One server: the story tells it as it always did, with no names and no fleet phases. */
    readonly one: boolean
  ) {}

  /** Every server of the command; several: their outcomes are the result's hosts. */
  static of(runs: ServerRun[], result: CommandResult, phases: Phases): Fleet {
    return new Fleet(runs, new Outcomes(runs, result), phases, runs.length === 1)
  }

  /** The same command's servers, narrowed to `runs` (their outcomes stay with the others'). */
  only(runs: ServerRun[]): Fleet {
    return new Fleet(runs, this.outcomes, this.phases, this.one)
  }

  get first(): ServerRun {
    return this.runs[0] as ServerRun
  }

  /** Several servers: `fn` inside the phase `name`; one: `fn` alone (its steps are the phases). */
  step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.one ? fn() : this.phases.run(name, fn)
  }

  /** `step` on each of `runs` at once (see step); the servers where it threw, with why. */
  onEach(
    name: string,
    runs: ServerRun[],
    step: (r: ServerRun) => Promise<unknown>
  ): Promise<Failure[]> {
    return this.step(name, () => onEachServer(runs, step))
  }

  /** `why`, naming the server when there are several. */
  tell(r: ServerRun, why: string): string {
    return this.one ? why : `${r.s.name}: ${why}`
  }

  /** One line per failure (see tell). */
  told(failures: Failure[]): string {
    return failures.map(f => this.tell(f.r, f.why)).join('\n')
  }

  mark(r: ServerRun, status: ServerStatus, version: string, failure?: string): void {
    this.outcomes.mark(r, status, version, failure)
  }

  /** The servers of this fleet whose outcome is `status`, in order. */
  marked(status: ServerStatus): ServerRun[] {
    return this.runs.filter(r => this.outcomes.of(r)?.status === status)
  }

  close(keepHistory: number): void {
    this.outcomes.close(keepHistory)
  }
}

export const names = (runs: ServerRun[]) => runs.map(r => r.s.name).join(', ')

/** Each server with the version it ran before the command. */
export const versionsOf = (runs: ServerRun[]) =>
  runs.map(r => `${r.s.name} ${r.previous || 'none'}`).join(', ')

/** The servers of `runs` whose deploy lock another deploy has broken (as abandoned), with why. */
export const lostLocks = (runs: ServerRun[], then: string): Failure[] =>
  runs.flatMap(r => {
    const why = r.s.lockLost()
    return why ? [{ r, why: `${why}; ${then}` }] : []
  })

/**
 * A command whose lock was broken while it verified: the other deploy owns the servers now, so
 * nothing is recorded and nothing rolled back. The failure, as `fleet` tells it.
 */
export const takenOver = (fleet: Fleet, lost: Failure[], version: string): string =>
  `${fleet.told(lost)}\n${version} passed its checks, but another deploy has taken over: nothing was recorded and nothing rolled back here (that deploy decides what runs now).`
