// The action's main step: inputs → options → the command → outputs and job summary.

import * as core from '@actions/core'
import Docker from 'dockerode'
import { getInputs, getRunContext } from './action/inputs.js'
import { writeOutputs } from './action/outputs.js'
import { writeSummary } from './action/summary.js'
import { actionLog, inert } from './action/log.js'
import { checkpoint, markMainStarted, rememberDeployment } from './action/state.js'
import { registerSecrets } from './action/secrets.js'
import { parseOptions } from './config/parse.js'
import type { DeployOptions } from './config/options.js'
import { runReported } from './github/report.js'
import type { CommandResult } from './engine/commands/result.js'
import { connectTo } from './remote/connect-to.js'
import { errorMessage } from './engine/io.js'
import { renderHistory } from './plan/history.js'

export async function run(): Promise<void> {
  markMainStarted()
  const raw = getInputs()
  registerSecrets(raw)
  // A cancelled job gets SIGINT/SIGTERM: say what happens next, then stop.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      core.warning(
        `cancelled (${signal}): the post step restores the last good version if a switch was in flight and releases the lock`
      )
      process.exit(1)
    })
  }

  let options: DeployOptions | undefined
  try {
    options = parseOptions(raw, await getRunContext())
    const o = options
    const result = await runReported(
      o,
      {
        docker: new Docker(),
        environment: process.env,
        connect: target => connectTo(target, m => core.warning(m)),
        now: () => new Date(),
        checkpoint
      },
      actionLog,
      rememberDeployment
    )
    await finish(result)
  } catch (e) {
    // Refused before anything ran (bad input).
    await finish({
      command: options?.command ?? 'deploy',
      status: 'failed',
      version: options?.version ?? '',
      previousVersion: '',
      method: options?.method ?? '',
      rolledBack: false,
      history: [],
      phases: [],
      notices: [],
      failure: errorMessage(e)
    })
  }
}

async function finish(result: CommandResult): Promise<void> {
  writeOutputs(result)
  await writeSummary(result)
  if (result.history.length > 0) inert(renderHistory(result.history))
  if (result.failure) core.setFailed(result.failure)
  else if (result.command === 'deploy') core.info(`✔ ${result.version} is live`)
  else if (result.command === 'rollback') core.info(`↩ ${result.version} is live again`)
}
