// The settle window (healthcheck-monitor): once every check has passed, keep watching for a
// while, so that a version that crashes seconds after it started is not called healthy.
// Like Swarm's update `monitor` period, but for the whole stack and its checks.

import type { HealthCheck } from '../config/options.js'
import type { ContainerState, ExpectedImage } from './containers.js'
import { judgeWith, type HealthReport, type PollerDeps } from './poller.js'

export interface ContainerChange {
  container: ContainerState
  what: string
}

/** What happened to the containers since `before`: restarts, replacements, disappearances. */
export function containerChanges(
  before: ContainerState[],
  now: ContainerState[]
): ContainerChange[] {
  const changes: ContainerChange[] = []
  const seen = new Map(now.map(c => [c.id, c]))
  for (const b of before) {
    const c = seen.get(b.id)
    if (!c) changes.push({ container: b, what: `${b.name} is gone` })
    else if (c.restartCount > b.restartCount) {
      const times = c.restartCount - b.restartCount
      changes.push({
        container: c,
        what: `${c.name} restarted (${times}×, exit code ${c.exitCode})`
      })
    } else if (b.startedAt && c.startedAt && c.startedAt !== b.startedAt) {
      changes.push({ container: c, what: `${c.name} started again (exit code ${c.exitCode})` })
    }
  }
  const known = new Set(before.map(b => b.id))
  for (const c of now) {
    if (!known.has(c.id))
      changes.push({ container: c, what: `${c.name} appeared (a replacement?)` })
  }
  return changes
}

/**
 * Watches a stack that passed (`passed.ok`) for `windowMs`: every `intervalMs` its containers
 * must still run unchanged and every check must pass again. Returns the report with `settle`
 * filled in; a failure makes it not ok, with the reason saying it came after the checks passed.
 */
export async function settle(
  deps: PollerDeps,
  checks: HealthCheck[],
  expected: readonly ExpectedImage[],
  passed: HealthReport,
  timing: { windowMs: number; intervalMs: number }
): Promise<HealthReport> {
  const start = deps.now()
  const judge = judgeWith(deps, expected)
  const baseline = passed.states
  let passes = 0
  const after = () => deps.now() - start
  const fail = (
    problem: string,
    states: ContainerState[],
    changed: ContainerState[] = []
  ): HealthReport => {
    const verdict = judge(states)
    const others = changed.filter(c => !verdict.notReady.some(n => n.id === c.id))
    const containers = { ...verdict, ready: false, notReady: [...verdict.notReady, ...others] }
    const seconds = Math.max(1, Math.round(after() / 1000))
    return {
      ...passed,
      ok: false,
      containers,
      states,
      reason: `failed ${seconds} s after the checks had passed (healthcheck-monitor): ${problem}`,
      elapsedMs: passed.elapsedMs + after(),
      settle: { ok: false, windowMs: timing.windowMs, watchedMs: after(), passes, problem }
    }
  }
  for (;;) {
    const left = timing.windowMs - after()
    if (left <= 0) break
    await deps.sleep(Math.min(timing.intervalMs, left))
    const states = await deps.containers()
    const verdict = judge(states)
    const changes = containerChanges(baseline, states)
    const problems = [...changes.map(c => c.what), ...(verdict.ready ? [] : verdict.problems)]
    if (problems.length > 0) {
      return fail(
        problems.join('; '),
        states,
        changes.map(c => c.container)
      )
    }
    for (const check of checks) {
      const r = await deps.probe(check)
      if (!r.ok) return fail(`check "${check.line}" failed (${r.detail})`, states)
    }
    passes++
  }
  return {
    ...passed,
    elapsedMs: passed.elapsedMs + after(),
    settle: { ok: true, windowMs: timing.windowMs, watchedMs: after(), passes }
  }
}
