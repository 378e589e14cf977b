// When a commit was made (`git log -1 --format=%ct`), in seconds since the epoch: the time a
// reproducible build stamps on its image and files (SOURCE_DATE_EPOCH). Undefined when the folder
// is not a git repository, git is missing or the commit is unknown (a shallow clone has the one
// it checked out).

import { execFile } from 'node:child_process'

export function commitTime(cwd: string, sha: string): Promise<number | undefined> {
  if (!/^[0-9a-f]{7,64}$/i.test(sha)) return Promise.resolve(undefined)
  return new Promise(resolve =>
    execFile('git', ['log', '-1', '--format=%ct', sha, '--'], { cwd }, (error, stdout) => {
      const seconds = Number(stdout.trim())
      resolve(!error && Number.isInteger(seconds) && seconds > 0 ? seconds : undefined)
    })
  )
}

/**
 * SOURCE_DATE_EPOCH: the job's own when it sets one (the convention of reproducible builds),
 * else the commit's time.
 */
export async function sourceDateEpoch(
  env: NodeJS.ProcessEnv,
  cwd: string,
  sha: string
): Promise<number | undefined> {
  const given = Number(env.SOURCE_DATE_EPOCH ?? '')
  if (env.SOURCE_DATE_EPOCH && Number.isInteger(given) && given >= 0) return given
  return commitTime(cwd, sha)
}
