// Waits until the stack is healthy or the time is up. Every container must be running (and
// healthy where it has a HEALTHCHECK) and every configured check must have passed.

import type { HealthCheck } from '../config/options.js'
import {
  judgeContainers,
  type ContainerState,
  type ContainersVerdict,
  type ExpectedImage
} from './containers.js'
import type { ProbeResult } from './probes.js'

export interface CheckResult {
  line: string
  ok: boolean
  attempts: number
  /** The last response, or the error of the last attempt. */
  detail: string
  /** Time from the start of the wait until it passed. */
  passedAfterMs?: number
}

/** The watch that follows the passed checks (healthcheck-monitor). */
export interface SettleReport {
  ok: boolean
  windowMs: number
  /** How long it watched: the whole window, or until something failed. */
  watchedMs: number
  /** Rounds of container states and checks that passed. */
  passes: number
  problem?: string
}

export interface HealthReport {
  ok: boolean
  checks: CheckResult[]
  containers: ContainersVerdict
  /** Why it failed, in one sentence. */
  reason?: string
  elapsedMs: number
  /** The containers as last seen. */
  states: ContainerState[]
  settle?: SettleReport
}

export interface PollerDeps {
  containers(): Promise<ContainerState[]>
  /**
   * Judges what `containers` returned last; default: judgeContainers against the expected
   * images (a swarm judges its services and tasks instead).
   */
  judge?(states: ContainerState[]): ContainersVerdict
  probe(check: HealthCheck): Promise<ProbeResult>
  sleep(ms: number): Promise<void>
  now(): number
}

/** How `deps` judges containers: its own judge, or judgeContainers against `expected`. */
export function judgeWith(
  deps: Pick<PollerDeps, 'judge'>,
  expected: readonly ExpectedImage[]
): (states: ContainerState[]) => ContainersVerdict {
  return deps.judge?.bind(deps) ?? (s => judgeContainers(s, expected))
}

/**
 * Waits until every container runs (healthy where it has a HEALTHCHECK, on its `expected` image)
 * and every check has passed once, or the timeout.
 */
export async function waitHealthy(
  deps: PollerDeps,
  checks: HealthCheck[],
  timing: { timeoutMs: number; intervalMs: number },
  expected: readonly ExpectedImage[] = []
): Promise<HealthReport> {
  const start = deps.now()
  const results: CheckResult[] = checks.map(c => ({
    line: c.line,
    ok: false,
    attempts: 0,
    detail: 'not tried'
  }))
  let states: ContainerState[] = []
  const report = (ok: boolean, containers: ContainersVerdict, reason?: string): HealthReport => ({
    ok,
    checks: results,
    containers,
    reason,
    elapsedMs: deps.now() - start,
    states
  })

  const problems = (containers: ContainersVerdict) => [
    ...results
      .filter(r => !r.ok && r.attempts > 0)
      .map(r => `check "${r.line}" failed (last: ${r.detail})`),
    ...containers.problems
  ]

  for (;;) {
    states = await deps.containers()
    const containers = judgeWith(deps, expected)(states)
    if (containers.fatal) {
      return report(false, containers, `containers failed: ${problems(containers).join('; ')}`)
    }
    for (const [i, check] of checks.entries()) {
      const result = results[i]
      if (!result || result.ok) continue
      const r = await deps.probe(check)
      result.attempts += 1
      result.detail = r.detail
      if (r.ok) {
        result.ok = true
        result.passedAfterMs = deps.now() - start
      }
    }
    if (containers.ready && results.every(r => r.ok)) return report(true, containers)

    if (deps.now() - start >= timing.timeoutMs) {
      const seconds = Math.round(timing.timeoutMs / 1000)
      return report(
        false,
        containers,
        `not healthy after ${seconds} s: ${problems(containers).join('; ')}`
      )
    }
    await deps.sleep(timing.intervalMs)
  }
}
