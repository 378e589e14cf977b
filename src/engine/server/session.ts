// engine/server: a command's hold on one server: connection, deploy lock, and the state it keeps.
//
// The server side of a command: one connection, and for the commands that change the server,
// the deploy lock held (and renewed) from before the first change until after the last.

import type { DeployOptions } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import type { StackFlavor } from '../../remote/commands.js'
import type { Orchestrator } from '../../config/options.js'
import { acquireDeployLock, keepLockRenewed, releaseDeployLock, type LockRenewal } from './lock.js'
import { runChecked } from '../../remote/ssh.js'
import * as cmd from '../../remote/commands.js'
import { readServerState, reportDamagedLines, type ServerState } from './server-state.js'
import * as stack from '../stack/stack.js'
import { errorMessage, Phases, type Log } from '../io.js'
import { targetsOf, type Target } from '../fleet/targets.js'

export type CheckpointName = 'lock' | 'switching'

export interface SessionPorts {
  /** Opens a connection to the server of `target` (its `ssh`; or this machine, method local). */
  connect(target: DeployOptions): Promise<Remote>
  /**
   * Keeps what the post step needs if this run is killed: the locks held (JSON, server name →
   * token, read back by heldLocks) and a switch in flight.
   */
  checkpoint(name: CheckpointName, value: string): void
}

export interface Session {
  remote: Remote
  state: ServerState
  flavor: StackFlavor
  /** Why this run no longer holds its lock (another deploy broke it as abandoned), if so. */
  lockLost(): string | undefined
  /**
   * Makes sure the connection still answers; when it was lost, connects again (a few tries)
   * and renews the lock over the new one. Throws when the server cannot be reached again, or
   * its lock is no longer this run's: then nothing more may be done there.
   */
  reconnectIfLost(): Promise<void>
}

/** One server of a command on several: its own options (its `ssh`), log and phases. */
export interface ServerSession extends Session {
  name: string
  o: DeployOptions
  log: Log
  phases: Phases
}

/** Locks held, by server name (see targetsOf), as the `lock` checkpoint keeps them. */
export type HeldLocks = Record<string, string>

/** Reads the `lock` checkpoint back; '' (none). */
export function heldLocks(value: string): HeldLocks {
  if (value === '') return {}
  const parsed = JSON.parse(value) as unknown
  return typeof parsed === 'object' && parsed !== null ? (parsed as HeldLocks) : {}
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
  return withLockedServers(o, ports, phases, log, notice, ([session]) =>
    work(session as ServerSession)
  )
}

/**
 * Connects to every server of `o` and takes every deploy lock, and inspects each, before `work`
 * runs; always lets go of all. When any server cannot be reached, locked or inspected, the locks
 * taken are released and nothing runs: the error names each server that failed. One server runs
 * in the caller's log and phases; several run side by side, each in its own (see targetsOf).
 */
export async function withLockedServers<T>(
  o: DeployOptions,
  ports: SessionPorts,
  phases: Phases,
  log: Log,
  notice: (m: string) => void,
  work: (sessions: ServerSession[]) => Promise<T>
): Promise<T> {
  const targets = targetsOf(o)
  const held: HeldLocks = {}
  const remember = (name: string, token: string) => {
    if (token) held[name] = token
    else delete held[name]
    ports.checkpoint('lock', Object.keys(held).length > 0 ? JSON.stringify(held) : '')
  }
  if (targets.length === 1) {
    const only = targets[0] as Target
    const opened = await openLocked(only, { log, phases }, ports, remember, notice)
    try {
      return await work([opened.session])
    } finally {
      await opened.close()
    }
  }
  const own = serverViews(targets, log)
  const attempts = await phases.run('connect and lock', () =>
    Promise.allSettled(
      targets.map((t, i) => openLocked(t, own[i] as View, ports, remember, notice))
    )
  )
  const opened = attempts.flatMap(a => (a.status === 'fulfilled' ? [a.value] : []))
  try {
    const failed = attempts.flatMap((a, i) =>
      a.status === 'rejected' ? [`${targets[i]?.name}: ${errorMessage(a.reason)}`] : []
    )
    if (failed.length > 0) {
      throw new Error(
        `${failed.length} of ${targets.length} servers could not be reached, locked or inspected:\n${failed.join('\n')}\nNo server was changed.`
      )
    }
    return await work(opened.map(x => x.session))
  } finally {
    await Promise.all(opened.map(x => x.close()))
  }
}

/** A server's log and phases. */
interface View {
  log: Log
  phases: Phases
}

/** Each server's own log (its lines start with its name) and phases, for several at once. */
export function serverViews(targets: Target[], log: Log): View[] {
  return targets.map(t => {
    const own = prefixedLog(log, t.name)
    return { log: own, phases: new Phases(own) }
  })
}

/** A log whose lines start with `[name] `; a group is a plain line (groups cannot interleave). */
export function prefixedLog(log: Log, name: string): Log {
  const p = `[${name}] `
  return {
    info: m => log.info(p + m),
    warn: m => log.warn(p + m),
    group: (title, fn) => {
      log.info(`${p}▶ ${title}`)
      return fn()
    }
  }
}

async function openLocked(
  t: Target,
  view: View,
  ports: SessionPorts,
  remember: (name: string, token: string) => void,
  notice: (m: string) => void
): Promise<{ session: ServerSession; close(): Promise<void> }> {
  const { o } = t
  const { log, phases } = view
  let remote = await phases.run('connect', () => ports.connect(o))
  let lockToken = ''
  let renewal: LockRenewal | undefined
  const close = async () => {
    renewal?.stop()
    if (lockToken) {
      await releaseDeployLock(remote, o.deployPath, lockToken)
        .then(released => {
          if (released) remember(t.name, '')
        })
        .catch(e =>
          log.warn(
            `could not release the deploy lock now (the post step retries): ${errorMessage(e)}`
          )
        )
    }
    remote.close()
  }
  try {
    lockToken = await phases.run('lock', () => acquireDeployLock(remote, o, log))
    remember(t.name, lockToken)
    // A command longer than lock-stale-after must not look abandoned to the next one.
    renewal = keepLockRenewed(remote, o, lockToken, log)
    const { state, flavor } = await phases.run('inspect server', () =>
      inspectServer(remote, o.orchestrator, o.deployPath, log, notice)
    )
    const reconnect = async () => {
      renewal?.stop()
      remote.close()
      remote = await connectAgain(ports, o, log)
      const held = await runChecked(remote, cmd.renewLock(o.deployPath, lockToken))
      if (held.trim() !== 'renewed') {
        throw new Error(
          `connected again, but the deploy lock ${cmd.lockDir(o.deployPath)} is no longer this run's: nothing more is done there`
        )
      }
      renewal = keepLockRenewed(remote, o, lockToken, log)
      log.info("connected again; the deploy lock is still this run's")
    }
    const session: ServerSession = {
      name: t.name,
      o,
      log,
      phases,
      get remote() {
        return remote
      },
      state,
      flavor,
      lockLost: () => renewal?.lost,
      reconnectIfLost: async () => {
        const answer = await remote.run(['true']).catch((e: unknown) => errorMessage(e))
        if (typeof answer !== 'string' && answer.code === 0) return
        log.warn(
          `the connection to the server was lost (${typeof answer === 'string' ? answer : `exit ${answer.code}`}): connecting again`
        )
        await reconnect()
      }
    }
    return { session, close }
  } catch (e) {
    await close()
    throw e
  }
}

/** Connects, runs `work` (which changes nothing), closes. */
export async function withServer<T>(
  o: DeployOptions,
  ports: Pick<SessionPorts, 'connect'>,
  phases: Phases,
  work: (remote: Remote) => Promise<T>
): Promise<T> {
  const remote = await phases.run('connect', () => ports.connect(o))
  try {
    return await work(remote)
  } finally {
    remote.close()
  }
}

const RECONNECT_TRIES = 3
const RECONNECT_PAUSE_MS = 2000

/** Connects to the server of `o` again: a few tries, each within its handshake timeout. */
async function connectAgain(ports: SessionPorts, o: DeployOptions, log: Log): Promise<Remote> {
  let last: unknown
  for (let i = 1; i <= RECONNECT_TRIES; i++) {
    try {
      return await ports.connect(o)
    } catch (e) {
      last = e
      log.warn(`connecting again (${i} of ${RECONNECT_TRIES}) failed: ${errorMessage(e)}`)
      if (i < RECONNECT_TRIES) await new Promise(r => setTimeout(r, RECONNECT_PAUSE_MS))
    }
  }
  throw new Error(
    `the connection was lost and could not be made again (${RECONNECT_TRIES} tries): ${errorMessage(last)}`
  )
}
