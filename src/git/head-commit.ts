// The commit checked out in a folder (`git rev-parse HEAD`), or '' when it is not a git
// repository or git is missing. The action asks it when GITHUB_SHA is unset; the CLI always.

import { execFile } from 'node:child_process'

export function headCommit(cwd: string): Promise<string> {
  return new Promise(resolve =>
    execFile('git', ['rev-parse', 'HEAD'], { cwd }, (error, stdout) =>
      resolve(error ? '' : stdout.trim())
    )
  )
}
