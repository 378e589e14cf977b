// The facts of a CLI run: the working directory is the workspace, the commit is its HEAD, the
// actor is the user at the terminal. GITHUB_REPOSITORY names the repository for the GitHub
// Deployments options, when set.

import os from 'node:os'
import type { RunContext } from '../config/inputs.js'
import { headCommit } from '../git/head-commit.js'
import { sourceDateEpoch } from '../git/commit-time.js'

function user(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return env.USER || os.userInfo().username || undefined
  } catch {
    return env.USER || undefined
  }
}

export async function cliRunContext(cwd: string, env: NodeJS.ProcessEnv): Promise<RunContext> {
  const sha = await headCommit(cwd)
  const epoch = await sourceDateEpoch(env, cwd, sha)
  return {
    workspace: cwd,
    sha,
    ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
    repository: env.GITHUB_REPOSITORY || undefined,
    apiUrl: env.GITHUB_API_URL || undefined,
    actor: user(env),
    now: new Date()
  }
}
