// The engine's log, as GitHub Actions log commands. A message that carries a line a program
// printed (a health check's answer, a container's log) could hold a line that starts with "::"
// and would be read as a workflow command: such a message goes out between stop-commands
// markers, so the runner prints it and runs nothing.

import { randomUUID } from 'node:crypto'
import * as core from '@actions/core'
import type { Log } from '../engine/io.js'

/** A line the runner would take for a workflow command. */
const COMMAND_LINE = /^\s*::/m

/** Writes `message` to the log; a workflow command in it is printed, never run. */
export function inert(message: string): void {
  if (!COMMAND_LINE.test(message)) {
    core.info(message)
    return
  }
  const token = randomUUID()
  core.info(`::stop-commands::${token}`)
  core.info(message)
  core.info(`::${token}::`)
}

export const actionLog: Log = {
  info: inert,
  warn: m => core.warning(m),
  group: (name, fn) => core.group(name, fn)
}
