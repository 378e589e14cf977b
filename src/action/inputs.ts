// Reads the action's inputs (INPUT_* variables) and the facts of the run. No validation here.

import * as core from '@actions/core'
import { INPUT_NAMES, type RawInputs, type RunContext } from '../config/inputs.js'
import { headCommit } from '../git/head-commit.js'
import { sourceDateEpoch } from '../git/commit-time.js'

export function getInputs(): RawInputs {
  const raw = {} as RawInputs
  for (const name of INPUT_NAMES) raw[name] = core.getInput(name)
  return raw
}

export async function getRunContext(env: NodeJS.ProcessEnv = process.env): Promise<RunContext> {
  const workspace = env.GITHUB_WORKSPACE || process.cwd()
  const repository = env.GITHUB_REPOSITORY || undefined
  const runUrl =
    env.GITHUB_SERVER_URL && repository && env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL}/${repository}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined
  const sha = env.GITHUB_SHA || (await headCommit(workspace))
  const epoch = await sourceDateEpoch(env, workspace, sha)
  return {
    workspace,
    sha,
    ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
    repository,
    apiUrl: env.GITHUB_API_URL || undefined,
    runUrl,
    actor: env.GITHUB_ACTOR || undefined,
    now: new Date()
  }
}
