// The engine's log, as GitHub Actions log commands.

import * as core from '@actions/core'
import type { Log } from '../engine/io.js'

export const actionLog: Log = {
  info: m => core.info(m),
  warn: m => core.warning(m),
  group: (name, fn) => core.group(name, fn)
}
