// `command: unlock`: releases a deploy lock by hand, saying who held it and since when. A lock
// renewed within the last two minutes belongs to a deploy that is probably still running (a
// running deploy renews it at least once a minute): refused unless force-unlock. A lock without
// the holder's info (made by hand, or by a deploy killed before it wrote it) is judged by when it
// last changed, as a deploy judges it.

import type { DeployOptions } from '../../config/options.js'
import { runChecked } from '../../remote/ssh.js'
import * as cmd from '../../remote/commands.js'
import { describeHolder, parseLockProbe } from '../../plan/lock.js'
import { withServer } from '../server/session.js'
import { asCommand, type CommandPorts, type CommandResult } from './result.js'
import type { Log } from '../io.js'

/** A lock renewed more recently than this may have a live holder. */
export const RECENT_SECONDS = 120

export async function unlock(
  o: DeployOptions,
  ports: CommandPorts,
  log: Log
): Promise<CommandResult> {
  return asCommand(o, log, (result, phases) =>
    withServer(o, ports, phases, async remote => {
      const out = await runChecked(remote, cmd.readLock(o.deployPath))
      if (out.trim() === 'none') {
        result.message = `no deploy lock is held in ${cmd.lockDir(o.deployPath)}`
        log.info(result.message)
        result.status = 'success'
        return result
      }
      const probe = parseLockProbe(out)
      if (probe.acquired) throw new Error(`unexpected answer from the server: ${out}`)
      const holder = describeHolder(probe)
      if (probe.ageSeconds < RECENT_SECONDS && !o.forceUnlock) {
        throw new Error(
          probe.holder
            ? `the deploy lock was renewed ${probe.ageSeconds} s ago (${holder}): its deploy is probably still running, and a running deploy renews its lock at least once a minute. Wait for it, or set force-unlock: true to release the lock anyway`
            : `the deploy lock is held by ${holder}: a deploy may be taking it this moment (it writes its info just after making the lock), or someone made it by hand. Run unlock again once it is ${RECENT_SECONDS} s old, or set force-unlock: true to release the lock anyway`
        )
      }
      const broken = await runChecked(remote, cmd.breakLock(o.deployPath, probe.rawInfo))
      if (broken.trim() !== 'broken') {
        throw new Error('the deploy lock changed while it was being released: run unlock again')
      }
      result.message = `released the deploy lock held by ${holder}`
      log.info(result.message)
      result.status = 'success'
      return result
    })
  )
}
