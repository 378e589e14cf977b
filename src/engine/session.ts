// The server side of a command: one connection, and for the commands that change the server,
// the deploy lock held (and renewed) from before the first change until after the last.

import type { DeployOptions } from '../config/options.js'
import type { Remote } from '../remote/remote.js'
import type { StackFlavor } from '../remote/commands.js'
import type { Orchestrator } from '../config/options.js'
import { acquireDeployLock, keepLockRenewed, releaseDeployLock, type LockRenewal } from './lock.js'
import { readServerState, reportDamagedLines, type ServerState } from './server-state.js'
import * as stack from './stack.js'
import { errorMessage, type Log, type Phases } from './io.js'

export type CheckpointName = 'lock' | 'switching'

export interface SessionPorts {
  connect(): Promise<Remote>
  /** Keeps what the post step needs if this run is killed (the lock, a switch in flight). */
  checkpoint(name: CheckpointName, value: string): void
}

export interface Session {
  remote: Remote
  state: ServerState
  flavor: StackFlavor
  /** Why this run no longer holds its lock (another deploy broke it as abandoned), if so. */
  lockLost(): string | undefined
}

/** The server's engine, compose flavour and state, checked and read; damaged lines reported. */
export async function inspectServer(
  remote: Remote,
  orchestrator: Orchestrator,
  deployPath: string,
  log: Log,
  notice: (m: string) => void
): Promise<{ state: ServerState; flavor: StackFlavor }> {
  await stack.checkEngine(remote)
  const flavor = await stack.detectFlavor(remote, orchestrator)
  const state = await readServerState(remote, deployPath)
  reportDamagedLines(state, notice)
  log.info(
    `running version: ${state.currentVersion || '(none: first deploy)'}; ${flavor === 'swarm' ? 'a swarm manager' : `compose ${flavor}`}`
  )
  return { state, flavor }
}

/** Connects, takes the deploy lock, inspects the server, runs `work`; always lets go. */
export async function withLockedServer<T>(
  o: DeployOptions,
  ports: SessionPorts,
  phases: Phases,
  log: Log,
  notice: (m: string) => void,
  work: (session: Session) => Promise<T>
): Promise<T> {
  const remote = await phases.run('connect', () => ports.connect())
  let lockToken = ''
  let renewal: LockRenewal | undefined
  try {
    lockToken = await phases.run('lock', () => acquireDeployLock(remote, o, log))
    ports.checkpoint('lock', lockToken)
    // A command longer than lock-stale-after must not look abandoned to the next one.
    renewal = keepLockRenewed(remote, o, lockToken, log)
    const { state, flavor } = await phases.run('inspect server', () =>
      inspectServer(remote, o.orchestrator, o.deployPath, log, notice)
    )
    const lease = renewal
    return await work({ remote, state, flavor, lockLost: () => lease.lost })
  } finally {
    renewal?.stop()
    if (lockToken) {
      await releaseDeployLock(remote, o.deployPath, lockToken)
        .then(released => {
          if (released) ports.checkpoint('lock', '')
        })
        .catch(e =>
          log.warn(
            `could not release the deploy lock now (the post step retries): ${errorMessage(e)}`
          )
        )
    }
    remote.close()
  }
}

/** Connects, runs `work` (which changes nothing), closes. */
export async function withServer<T>(
  ports: Pick<SessionPorts, 'connect'>,
  phases: Phases,
  work: (remote: Remote) => Promise<T>
): Promise<T> {
  const remote = await phases.run('connect', () => ports.connect())
  try {
    return await work(remote)
  } finally {
    remote.close()
  }
}
