// `command: status`: what runs and whether it is well, changing nothing. The version in service
// with its record (method, commit, time, actor), every container of the project, and one pass
// of the health checks. An unhealthy stack fails the step, so a scheduled status job alerts.

import type { DeployOptions } from '../../config/options.js'
import { serviceNames } from '../../config/options.js'
import { lastRecordOf, newestFirst, releaseOf } from '../../plan/history.js'
import { probe } from '../../health/probes.js'
import type { CheckResult } from '../../health/poller.js'
import { readRestorable } from '../server/holdings.js'
import { readServerState, reportDamagedLines } from '../server/server-state.js'
import { withServer } from '../server/session.js'
import { stackStrategy } from '../stack/choose-strategy.js'
import { probeTimeoutMs } from '../steps/verify.js'
import * as stack from '../stack/stack.js'
import { asCommand, noticeTo, type CommandPorts, type CommandResult } from './result.js'
import type { Log } from '../io.js'

export async function status(
  o: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  return asCommand(o, log, (result, phases) =>
    withServer(o, ports, phases, async remote => {
      const state = await phases.run('inspect server', async () => {
        await stack.checkEngine(remote)
        return readServerState(remote, o.deployPath)
      })
      reportDamagedLines(state, noticeTo(result, log))
      const current = state.currentVersion
      result.version = current
      result.method = state.currentMethod
      result.history = newestFirst(state.history, o.keepHistory)
      result.running = lastRecordOf(state.history, current)
      result.restorable = (await readRestorable(remote, o, state.history, current)).versions
      if (!current) {
        result.healthy = false
        result.failure = `nothing is deployed in ${o.deployPath} (no current_version)`
        return result
      }
      const release = releaseOf(state.history, current, serviceNames(o))
      const strategy = stackStrategy(o.orchestrator)
      const home = strategy.home(o, release)
      result.projectDirectory = home.directory
      log.info(
        `in service: ${current} (${state.currentMethod || 'method unknown'}), ${result.running ? `deployed ${result.running.finished_at} from ${result.running.commit.slice(0, 7)}${result.running.actor ? ` by ${result.running.actor}` : ''}` : 'not in the history'}`
      )

      log.info(home.line)

      await phases.run('check', async () => {
        const { verdict, containers, services, routes } = await strategy.look(
          remote,
          o,
          release,
          state.history,
          log
        )
        if (services) result.services = services
        if (routes) result.routes = routes
        result.containers = containers
        const checks: CheckResult[] = []
        for (const check of o.healthchecks) {
          const r = await probe(remote, check, probeTimeoutMs(o))
          checks.push({ line: check.line, ok: r.ok, attempts: 1, detail: r.detail })
          log.info(`${r.ok ? '✔' : '✖'} ${check.line}: ${r.detail}`)
        }
        for (const c of containers) {
          log.info(`${c.name}: ${c.status}${c.health ? ` (${c.health})` : ''} ${c.imageRef ?? ''}`)
        }
        const ok = verdict.ready && checks.every(c => c.ok)
        const reason = ok
          ? undefined
          : [
              ...checks.filter(c => !c.ok).map(c => `check "${c.line}" failed (${c.detail})`),
              ...verdict.problems
            ].join('; ')
        result.health = {
          ok,
          checks,
          containers: verdict,
          reason,
          elapsedMs: 0,
          states: containers
        }
        result.healthy = ok
        if (!ok) result.failure = `${current} is not healthy: ${reason}`
      })
      result.status = result.healthy ? 'success' : 'failed'
      return result
    })
  ).then(result => ({ ...result, healthy: result.healthy ?? false }))
}
