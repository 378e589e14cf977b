// `command: history`: the records the server keeps, newest first, and the versions a rollback
// can still go to. Changes nothing.

import type { DeployOptions } from '../config/options.js'
import { serviceNames } from '../config/options.js'
import { newestFirst } from '../plan/history.js'
import { restorableVersions } from '../plan/rollback-target.js'
import { readHoldings } from './holdings.js'
import { readServerState } from './server-state.js'
import { withServer } from './session.js'
import { asCommand, noticeTo, type CommandPorts, type CommandResult } from './result.js'
import type { Log } from './io.js'

export async function history(
  o: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  return asCommand(o, log, (result, phases) =>
    withServer(ports, phases, async remote => {
      const state = await phases.run('read history', () => readServerState(remote, o.deployPath))
      if (state.damagedLines.length > 0) {
        noticeTo(
          result,
          log
        )(`versions.log: skipped damaged line(s) ${state.damagedLines.join(', ')}`)
      }
      result.version = state.currentVersion
      result.method = state.currentMethod
      // The whole file: pruning already keeps it at keep-history records.
      result.history = newestFirst(state.history, state.history.length)
      const held = await readHoldings(remote, o, state.history)
      result.restorable = restorableVersions(
        state.history,
        state.currentVersion,
        o.project,
        serviceNames(o),
        held
      )
      log.info(
        `restorable versions: ${result.restorable.length > 0 ? result.restorable.join(', ') : '(none)'}`
      )
      result.status = 'success'
      return result
    })
  )
}
