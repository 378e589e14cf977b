// `command: history`: the records the server keeps, newest first, and the versions a rollback
// can still go to. Changes nothing.

import type { DeployOptions } from '../../config/options.js'
import { newestFirst } from '../../plan/history.js'
import { readRestorable } from '../server/holdings.js'
import { readServerState, reportDamagedLines } from '../server/server-state.js'
import { withServer } from '../server/session.js'
import { asCommand, noticeTo, type CommandPorts, type CommandResult } from './result.js'
import type { Log } from '../io.js'

export async function history(
  o: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  return asCommand(o, log, (result, phases) =>
    withServer(o, ports, phases, async remote => {
      const state = await phases.run('read history', () => readServerState(remote, o.deployPath))
      reportDamagedLines(state, noticeTo(result, log))
      result.version = state.currentVersion
      result.method = state.currentMethod
      // The whole file: pruning already keeps it at keep-history records.
      result.history = newestFirst(state.history, state.history.length)
      result.restorable = (
        await readRestorable(remote, o, state.history, state.currentVersion)
      ).versions
      log.info(
        `restorable versions: ${result.restorable.length > 0 ? result.restorable.join(', ') : '(none)'}`
      )
      result.status = 'success'
      return result
    })
  )
}
