// Why and how the action runs with a small young generation (see restart.ts, which acts on it).
//
// A transfer streams the images through Node: every chunk (Docker API, gzip, the SSH cipher) is
// a short-lived Buffer. On Node 24 the young generation grows to 32 MiB a semi-space, and the
// chunks it holds keep their memory until the next scavenge: shipping a 1 GiB image peaked at
// 147-170 MiB; with 1 MiB semi-spaces, at 104 MiB in the same time (`npm run bench`, README).
// The size can only be chosen when Node starts, and a runner starts the action as
// `node dist/index.js`: hence a restart, in the same process, before any other module runs.

export const SEMI_SPACE_FLAG = '--max-semi-space-size'
export const SEMI_SPACE_MIB = 1

export interface NodeStart {
  execPath: string
  execArgv: string[]
  /** process.argv: node, the script, its arguments. */
  argv: string[]
  nodeOptions: string | undefined
  canExecve: boolean
}

/**
 * The argument list to restart Node with, or undefined to go on as started: Node cannot
 * execve (before 22.15, Windows), or the size is already chosen (by this restart, or by the
 * user's NODE_OPTIONS).
 */
export function restartArgv(start: NodeStart): string[] | undefined {
  if (!start.canExecve) return undefined
  if ([...start.execArgv, start.nodeOptions ?? ''].some(a => a.includes(SEMI_SPACE_FLAG))) {
    return undefined
  }
  return [
    start.execPath,
    `${SEMI_SPACE_FLAG}=${SEMI_SPACE_MIB}`,
    ...start.execArgv,
    ...start.argv.slice(1)
  ]
}
