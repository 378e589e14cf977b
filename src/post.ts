// The action's post step (post-if: always()): when the main step was cancelled or crashed, or
// could not record a version that passed its checks, finish the switch it left (record a verified
// one, undo one never verified), release the deploy lock, and mark a GitHub deployment it left
// in progress failed. Otherwise it does nothing.

import * as core from '@actions/core'
import { getInputs, getRunContext } from './action/inputs.js'
import { actionLog } from './action/log.js'
import { leftDeployment, leftovers } from './action/state.js'
import { settleInterrupted } from './github/report.js'
import { parseOptions } from './config/parse.js'
import { leftAnything, recoverInterrupted } from './engine/commands/recover.js'
import { errorMessage } from './engine/io.js'
import { connectTo } from './remote/connect-to.js'
import { lockDir } from './remote/commands.js'
import { registerSecrets } from './action/secrets.js'

export async function post(): Promise<void> {
  const left = leftovers()
  const deployment = leftDeployment()
  if (!leftAnything(left) && deployment === undefined) {
    core.info('nothing to clean up on the server')
    return
  }
  let lockHint = ''
  try {
    const raw = getInputs()
    registerSecrets(raw)
    const o = parseOptions(raw, await getRunContext())
    try {
      if (leftAnything(left)) {
        if (Object.keys(left.locks).length > 0) {
          lockHint = leftLockHint(o.deployPath, o.lockStaleAfterMs)
        }
        await recoverInterrupted(
          o,
          target => connectTo(target, m => core.warning(m)),
          left,
          actionLog
        )
      }
    } finally {
      if (deployment !== undefined) await settleInterrupted(o, deployment, actionLog)
    }
  } catch (e) {
    core.setFailed(`post step: ${errorMessage(e)}${lockHint}`)
  }
}

/** What becomes of a deploy lock that the post step could not release. */
function leftLockHint(deployPath: string, staleAfterMs: number): string {
  return ` The deploy lock ${lockDir(deployPath)} may be left behind: the next deploy breaks it once nobody has renewed it for ${Math.round(staleAfterMs / 1000)} s (lock-stale-after), or release it with command: unlock.`
}
