// Runs a command with its GitHub Deployments around it (when `environment` is set): the one
// entry the action and the CLI both call.

import type { DeployOptions } from '../config/options.js'
import { runCommand } from '../engine/commands/run-command.js'
import type { CommandPorts, CommandResult } from '../engine/commands/result.js'
import type { Log } from '../engine/io.js'
import { deploymentsApi } from './api.js'
import { DeploymentReporter } from './deployments.js'

/** The reporter of `o`'s deployments, or undefined when `environment` is not set. */
function reporterFor(o: DeployOptions, log: Log): DeploymentReporter | undefined {
  const d = o.deployments
  return d ? new DeploymentReporter(d, deploymentsApi(d), o, m => log.warn(m)) : undefined
}

/**
 * `remember` keeps the id of a deployment left in progress (empty once it is settled), so that a
 * cancelled job's post step can mark it failed.
 */
export async function runReported(
  o: DeployOptions,
  ports: CommandPorts,
  log: Log,
  remember?: (deploymentId: string) => void
): Promise<CommandResult> {
  const reporter = reporterFor(o, log)
  if (!reporter) return runCommand(o, ports, log)
  await reporter.started(o)
  if (reporter.inProgress !== undefined) remember?.(String(reporter.inProgress))
  const result = await runCommand(o, ports, log)
  await reporter.finished(result)
  remember?.('')
  return result
}

/** The post step: a deployment that a cancelled run left in progress is marked failed. */
export async function settleInterrupted(o: DeployOptions, id: number, log: Log): Promise<void> {
  await reporterFor(o, log)?.interrupted(id)
}
