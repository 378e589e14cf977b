// Imported first by the action's entry point, for its effect: Node restarts with a small young
// generation (young-generation.ts says why) through execve: the same process (PID, stdio,
// environment), so the runner, its signals and the job's files see no difference.

import { restartArgv } from './young-generation.js'

const argv = restartArgv({
  execPath: process.execPath,
  execArgv: process.execArgv,
  argv: process.argv,
  nodeOptions: process.env.NODE_OPTIONS,
  canExecve: typeof process.execve === 'function'
})
if (argv !== undefined) {
  try {
    process.execve?.(process.execPath, argv, process.env)
  } catch {
    // Go on as started: only the memory use differs.
  }
}
